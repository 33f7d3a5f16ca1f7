//! Enums that cross the seams as a stable code (`as_str`/`parse`, for the API and the database)
//! and reach people as a Chinese label.

/// Declares such an enum: each variant with its code and its label.
#[macro_export]
macro_rules! labelled_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = ($code:literal, $label:literal)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $code),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$v => $label),+ }
            }
        }
    };
}
