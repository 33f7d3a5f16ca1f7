use chrono::{NaiveDate, NaiveDateTime};

use super::*;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

#[test]
fn a_compartment_moves_only_along_the_allowed_transitions() {
    use CompartmentState::*;
    assert_eq!(next(Free, Move::Reserve), Ok(Reserved));
    assert_eq!(next(Reserved, Move::Deposit), Ok(Holding));
    assert_eq!(next(Free, Move::Deposit), Ok(Holding));
    assert_eq!(next(Holding, Move::Empty), Ok(Free));
    assert_eq!(next(Reserved, Move::Release), Ok(Free));
    assert_eq!(next(Free, Move::Break), Ok(OutOfOrder));
    assert_eq!(next(OutOfOrder, Move::Repair), Ok(Free));
    // A compartment holds one thing at a time.
    assert_eq!(
        next(Holding, Move::Deposit).unwrap_err().code,
        "compartment_state"
    );
    assert_eq!(
        next(Holding, Move::Break).unwrap_err().code,
        "compartment_in_use"
    );
    assert_eq!(
        next(OutOfOrder, Move::Reserve).unwrap_err().code,
        "compartment_out_of_order"
    );
    assert_eq!(
        next(Free, Move::Empty).unwrap_err().code,
        "compartment_state"
    );
}

#[test]
fn the_smallest_free_compartment_that_fits_is_chosen_and_one_out_of_order_is_skipped() {
    let slot = |door, size, state, locked| Slot {
        door,
        size,
        state,
        locked,
    };
    use CompartmentState::*;
    let slots = [
        slot("A01", Size::Small, OutOfOrder, false),
        slot("A02", Size::Small, Free, true),
        slot("A03", Size::Medium, Free, false),
        slot("A04", Size::Small, Free, false),
        slot("B01", Size::Large, Free, false),
    ];
    assert_eq!(choose(&slots, Size::Small), Ok("A04"));
    assert_eq!(choose(&slots, Size::Medium), Ok("A03"));
    assert_eq!(choose(&slots, Size::Large), Ok("B01"));
    assert_eq!(
        choose(&slots[..2], Size::Small).unwrap_err().code,
        "no_free_compartment"
    );
}

#[test]
fn codes_have_eight_digits_and_are_read_back_from_what_people_type() {
    assert_eq!(code_from_random([0; 8]), "00000000");
    assert_eq!(code_from_random([0xff; 8]).len(), CODE_DIGITS);
    assert_eq!(normalize_code(" 1234-5678 "), "12345678");
    assert_eq!(normalize_door("a3"), "A03");
    assert_eq!(normalize_door(" A-03 "), "A03");
    assert_eq!(normalize_door("B12"), "B12");
}

#[test]
fn a_pickup_code_lasts_to_the_end_of_the_nth_day_after_the_deposit() {
    let s = LockerSettings::default();
    // Friday 18:30 plus 7 days: valid through Friday 12-11.
    assert_eq!(
        s.pickup_expires(t("2026-12-04 18:30")),
        t("2026-12-12 00:00")
    );
    assert_eq!(
        s.booking_expires(t("2026-12-04 21:00")),
        t("2026-12-05 21:00")
    );
}

#[test]
fn the_supplement_counts_from_the_deposit_or_the_collection_as_set_r_supplement_pause() {
    let mut s = LockerSettings::default();
    let (night, morning) = (t("2026-12-02 22:40"), t("2026-12-03 09:05"));
    assert_eq!(
        s.supplement_day(night, morning),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    );
    s.supplement_from = SupplementFrom::Collection;
    assert_eq!(
        s.supplement_day(night, morning),
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    );
}

#[test]
fn the_tenth_wrong_code_locks_the_door() {
    let s = LockerSettings::default();
    assert_eq!(
        s.after_wrong_code(0),
        WrongCode::TryAgain { wrong: 1, left: 9 }
    );
    assert_eq!(
        s.after_wrong_code(8),
        WrongCode::TryAgain { wrong: 9, left: 1 }
    );
    assert_eq!(s.after_wrong_code(9), WrongCode::Lock { wrong: 10 });
}

#[test]
fn a_door_opens_once_before_its_code_expires_and_never_when_locked_or_out_of_order() {
    let exp = t("2026-12-12 00:00");
    let facts = |state, locked, parcel| DoorFacts {
        state,
        locked,
        parcel,
    };
    use CompartmentState::*;
    let waiting = Some((ParcelKind::Pickup, ParcelStatus::Deposited, false, exp));
    assert_eq!(
        check_door(&facts(Holding, false, waiting), t("2026-12-05 10:00")),
        Ok(ParcelKind::Pickup)
    );
    let code = |f: &DoorFacts, at| check_door(f, t(at)).unwrap_err().code;
    assert_eq!(
        code(&facts(Holding, false, waiting), "2026-12-12 00:00"),
        "code_expired"
    );
    let used = Some((ParcelKind::Pickup, ParcelStatus::Deposited, true, exp));
    assert_eq!(
        code(&facts(Holding, false, used), "2026-12-05 10:00"),
        "code_used"
    );
    let expired = Some((ParcelKind::Pickup, ParcelStatus::Expired, false, exp));
    assert_eq!(
        code(&facts(Holding, false, expired), "2026-12-05 10:00"),
        "code_expired"
    );
    assert_eq!(
        code(&facts(Holding, true, waiting), "2026-12-05 10:00"),
        "compartment_locked"
    );
    assert_eq!(
        code(&facts(OutOfOrder, false, None), "2026-12-05 10:00"),
        "compartment_out_of_order"
    );
    assert_eq!(
        code(&facts(Free, false, None), "2026-12-05 10:00"),
        "wrong_code"
    );
}

#[test]
fn settings_out_of_range_are_refused_with_every_field_named() {
    assert_eq!(LockerSettings::default().validate(), Ok(()));
    let s = LockerSettings {
        pickup_days: 0,
        booking_hours: 0,
        wrong_code_limit: 1,
        ..LockerSettings::default()
    };
    assert_eq!(s.validate().unwrap_err().fields.len(), 3);
    let partial: LockerSettings =
        serde_json::from_str(r#"{"issued_at":"deposit","pickup_days":3}"#).unwrap();
    assert_eq!(
        (
            partial.issued_at,
            partial.pickup_days,
            partial.wrong_code_limit
        ),
        (IssuedAt::Deposit, 3, 10)
    );
}
