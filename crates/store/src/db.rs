//! One database handle over two backends.
//!
//! The pattern (vaultwarden's multi-backend layer, on async sqlx): an enum over the concrete
//! pools, one query text for both, and a per-backend branch only where the SQL must differ.
//! Query bodies are written once inside [`tx_run!`] / [`db_run!`], which expand them for each
//! backend so the compiler checks both.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use yichuang_domain::{Error, Kind, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction: the one way to write. Commit explicitly; dropping it rolls back. It
/// keeps the writes it has deferred ([`Tx::write`]); on SQLite it also holds the database's
/// writer turn (see [`Db::begin`]) until it ends.
pub enum Tx {
    Sqlite(SqliteWrite),
    Postgres(PgWrite),
}

/// A PostgreSQL write transaction, with the writes it has deferred ([`Tx::write`]).
pub struct PgWrite {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    deferred: Deferred,
    /// The handle it was begun on (for the kept rows, see [`Tx::db`]).
    db: Db,
    /// Its place among the writes that may hold a connection at once ([`PG_WRITERS`]).
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl PgWrite {
    /// The transaction's connection, for a statement that must run now (what was deferred has
    /// not been sent: use [`tx_run!`] to send it first).
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    /// Sends what was deferred. The first list a request that took the change counter from an
    /// earlier read sends carries the counter's check ([`checking`]), so that the check costs
    /// no statement of its own.
    async fn flush(&mut self) -> Result<()> {
        if self.deferred.inlined.is_empty() {
            return Ok(());
        }
        self.send(crate::calendar::unchecked(&self.db)).await
    }

    /// Checks the change counter the request took, if unchecked: in the deferred list, or on
    /// its own when nothing is deferred. Before a commit, and before the request moves the
    /// counter itself ([`crate::calendar::bump`]), which the check would take for another's.
    async fn check_counter(&mut self) -> Result<()> {
        let guess = crate::calendar::unchecked(&self.db);
        if guess.is_none() && self.deferred.inlined.is_empty() {
            return Ok(());
        }
        self.send(guess).await
    }

    async fn send(&mut self, guess: Option<i64>) -> Result<()> {
        self.deferred.send_inlined(&mut self.tx, guess).await?;
        if guess.is_some() {
            crate::calendar::checked();
        }
        Ok(())
    }
}

/// One bound value of a deferred write.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::Text(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Bool(v)
    }
}

/// Binds `args` to a query of either backend (expanded per backend, so each is checked).
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// The writes a transaction has deferred: statements that answer nothing, sent together. On
/// SQLite the turn's holder runs them itself on the connection lent to it ([`crate::direct`]),
/// each with its values bound. On PostgreSQL, which binds parameters to one statement at a time,
/// the values are written into the list ([`inlined`]) and it goes as one simple query: one
/// round trip.
/// One deferred SQLite statement.
pub(crate) struct DeferredWrite {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
    /// It must change exactly one row ([`Tx::write_guarded`]).
    pub(crate) guarded: bool,
}

#[derive(Default)]
pub struct Deferred {
    /// PostgreSQL: each statement with its values written in.
    inlined: Vec<Inlined>,
    texts: Vec<String>,
    /// SQLite: each statement with its values.
    list: Vec<DeferredWrite>,
    count: usize,
}

impl Deferred {
    fn push(&mut self, sql: &str, args: Vec<Arg>) {
        self.push_guarded(sql, args, false);
    }

    /// Adds a statement that, `guarded`, must change exactly one row ([`Tx::write_guarded`]).
    fn push_guarded(&mut self, sql: &str, args: Vec<Arg>, guarded: bool) {
        self.list.push(DeferredWrite {
            sql: sql.to_string(),
            args,
            guarded,
        });
        self.count += 1;
    }

    /// Adds a statement with its values written into it as literals ([`inlined`]), for a list
    /// sent as one simple query: PostgreSQL binds parameters to one statement at a time.
    fn push_inlined(&mut self, sql: &str, args: &[Arg]) -> Result<()> {
        self.push_inlined_guarded(sql, args, false)
    }

    /// [`Deferred::push_inlined`] for an `UPDATE` that, `guarded`, must change exactly one row
    /// ([`Tx::write_guarded`]); the guard is written in when the list is sent ([`checking`]).
    fn push_inlined_guarded(&mut self, sql: &str, args: &[Arg], guarded: bool) -> Result<()> {
        let wraps = wraps(sql);
        if guarded && !wraps {
            return Err(Error::internal(format!(
                "a guarded write must be an UPDATE: {sql}"
            )));
        }
        self.inlined.push(Inlined {
            written: inlined(sql, args)?,
            guarded,
            wraps,
        });
        self.count += 1;
        if crate::statements::counting() {
            self.texts.push(sql.to_string());
        }
        Ok(())
    }

    /// Sends the statements pushed with [`Deferred::push_inlined`] on `c` in one round trip.
    /// `counter`, the list also checks that the change counter stands there, failing with
    /// [`COUNTER_MOVED`] if not ([`PgWrite::flush`]).
    async fn send_inlined(
        &mut self,
        c: &mut sqlx::PgConnection,
        counter: Option<i64>,
    ) -> Result<()> {
        if self.inlined.is_empty() && counter.is_none() {
            return Ok(());
        }
        let Deferred {
            inlined, mut texts, ..
        } = std::mem::take(self);
        let mut list = Vec::with_capacity(inlined.len() + 1);
        let mut counter = counter;
        for one in inlined {
            // The first statement that can carry the counter's check carries it.
            let check = if one.wraps { counter.take() } else { None };
            list.push(checking(one, check));
        }
        if let Some(v) = counter {
            // No statement of the list can carry the check: it goes first, on its own.
            list.insert(0, counter_check(v));
            if crate::statements::counting() {
                texts.insert(0, crate::calendar::COUNTER.to_string());
            }
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(list.join(";\n")))
            .execute(c)
            .await
            .map_err(|e| {
                // The cast's own error (invalid_text_representation) naming a marker.
                let marked = |marker: &str| {
                    e.as_database_error().is_some_and(|d| {
                        d.code().as_deref() == Some("22P02") && d.message().contains(marker)
                    })
                };
                if marked(PG_COUNTER_MOVED) {
                    crate::calendar::found_moved();
                    counter_moved()
                } else if marked(PG_STALE) {
                    stale_row()
                } else {
                    db_err(e)
                }
            })?;
        crate::statements::sent_together(&texts);
        Ok(())
    }
}

/// A deferred PostgreSQL statement.
struct Inlined {
    /// With its values written in ([`inlined`]).
    written: String,
    /// It must change exactly one row ([`Tx::write_guarded`]).
    guarded: bool,
    /// It can be wrapped to check something ([`wraps`]).
    wraps: bool,
}

/// Whether a statement can be wrapped to check what it changed ([`checking`]): a plain
/// `INSERT`, `UPDATE` or `DELETE`, one that answers nothing itself. Looked at before its values
/// are written in, which may hold any word.
fn wraps(sql: &str) -> bool {
    let head = sql.trim_start().get(..7).unwrap_or("").to_ascii_uppercase();
    ["INSERT ", "UPDATE ", "DELETE "].contains(&head.as_str())
        && !sql.to_ascii_uppercase().contains("RETURNING")
}

/// `one`'s text as a statement that also fails the list when, guarded, it changed other than
/// exactly one row ([`Tx::write_guarded`]) or, `counter`, the change counter is not that value
/// ([`crate::calendar::guessing_scope`]). A simple query answers no row counts, so the
/// statement answers a number cast from a text that is no number when a check fails
/// ([`PG_STALE`], [`PG_COUNTER_MOVED`]): the error of that cast ends the list and the
/// transaction, as the guard's failure does on SQLite. Its change is made either way and goes
/// with the transaction. The counter is read in the statement's own snapshot, after every
/// commit before the statement began.
fn checking(one: Inlined, counter: Option<i64>) -> String {
    if !one.guarded && counter.is_none() {
        return one.written;
    }
    let mut cases = String::new();
    if let Some(v) = counter {
        cases.push_str(&format!(
            "WHEN ({}) IS DISTINCT FROM {v} THEN '{PG_COUNTER_MOVED}' ",
            crate::calendar::COUNTER
        ));
    }
    if one.guarded {
        cases.push_str(&format!("WHEN n <> 1 THEN '{PG_STALE}' "));
    }
    format!(
        "WITH changed AS ({} RETURNING 1) \
         SELECT (CASE {cases}ELSE '1' END)::int FROM (SELECT count(*) AS n FROM changed) c",
        one.written
    )
}

/// The change counter's check on its own, for a list whose statements cannot carry it.
fn counter_check(v: i64) -> String {
    format!(
        "SELECT (CASE WHEN ({}) IS DISTINCT FROM {v} THEN '{PG_COUNTER_MOVED}' ELSE '1' END)::int",
        crate::calendar::COUNTER
    )
}

/// A statement's `LIMIT n`, written into its text. SQLite prepares a statement whose `LIMIT`
/// is a bound parameter again at every run, since its planner reads the value:
/// `sqlite3_stmt_status(…, SQLITE_STMTSTATUS_REPREPARE)` counted one per run, and `perf` put
/// 8 % of call-finish in `sqlite3Reprepare` under the line head (issue 9). A number carries
/// no SQL, and the few limits the platform uses keep the prepared statements few. A bound
/// `OFFSET` is prepared again the same way, so the catalogue's paging writes its offset in too.
pub(crate) fn limit(n: i64) -> String {
    format!("LIMIT {n}")
}

/// `sql` with each parameter `$N` replaced by `args[N - 1]` as a literal of the type sqlx would
/// bind it as (`int8`, `text`, `bool`), so the statement means what it meant with the values
/// bound. Text goes in dollar quotes, inside which nothing is an escape, with a tag that first
/// occurs after the text: no value can end its literal early, whatever it holds. A NUL cannot be
/// sent in a query (nor stored in `text`), so a value holding one is refused.
pub(crate) fn inlined(sql: &str, args: &[Arg]) -> Result<String> {
    let literal = |n: usize| -> Result<String> {
        let arg = args.get(n.wrapping_sub(1)).ok_or_else(|| {
            Error::internal(format!(
                "deferred write names ${n} of {} values",
                args.len()
            ))
        })?;
        Ok(match arg {
            Arg::Int(Some(v)) => format!("({v})::int8"),
            Arg::Int(None) => "NULL::int8".into(),
            Arg::Bool(v) => if *v { "TRUE" } else { "FALSE" }.into(),
            Arg::Text(None) => "NULL::text".into(),
            Arg::Text(Some(t)) => {
                if t.contains('\0') {
                    return Err(Error::new(
                        Kind::Invalid,
                        "invalid_text",
                        "内容含有不可保存的控制字符，请删除后重试",
                    ));
                }
                // The first place the tag occurs after the opening one must be the closing
                // one: not inside the text, nor where the text's end runs into it ("…$v2"
                // followed by "$v2$").
                let mut tag = String::from("$v$");
                let mut k = 0;
                while format!("{t}{tag}").find(&tag) != Some(t.len()) {
                    k += 1;
                    tag = format!("$v{k}$");
                }
                format!("{tag}{t}{tag}::text")
            }
        })
    };
    each_parameter(sql, literal)
}

/// `sql` with each parameter `$N` replaced by `with(N)`.
fn each_parameter<E>(
    sql: &str,
    mut with: impl FnMut(usize) -> std::result::Result<String, E>,
) -> std::result::Result<String, E> {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '$' {
            out.push(ch);
            continue;
        }
        let mut n = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            n.push(*d);
            chars.next();
        }
        match n.parse::<usize>() {
            Ok(n) => out.push_str(&with(n)?),
            Err(_) => out.push('$'),
        }
    }
    Ok(out)
}

/// The writer of one SQLite file in this process. Its mutex is the writer's turn (first come,
/// first served); while the turn passes between transactions it keeps the one SQLite
/// transaction they share open (group commit, issue 9).
///
/// A transaction that finds no shared transaction open opens one (`BEGIN IMMEDIATE`); one that
/// finds it open joins it in a savepoint of its own. Committing sends the transaction's writes
/// and passes the turn on without committing the shared transaction: the transactions that were
/// waiting for the turn join it. The first member to commit its part then queues for the turn
/// again behind them, commits the shared transaction when it gets it (one `COMMIT`, one sync of
/// the log, for all) and tells the others how it ended ([`finish`]). Nobody is answered before the
/// `COMMIT` that holds their writes. A member that fails or is dropped is rolled back to its
/// savepoint and leaves the others' writes be.
///
/// A member sees the writes of the members before it before they are committed. Code that finds
/// another's row in its transaction and then reads it from the pool (an idempotent replay)
/// commits its transaction first, not drops it: the commit waits for that row's `COMMIT`.
///
/// The shared transactions run on the writer's own connection ([`crate::direct`]), opened at
/// the first write and kept until [`Db::close`].
#[derive(Default)]
pub struct Writer {
    open: Option<Shared>,
    opened: u64,
    conn: Option<crate::direct::WriterConn>,
    /// When the last holder handed the turn on, for [`TurnUse::handoff_seconds`].
    handed_on: Option<std::time::Instant>,
}

impl Writer {
    /// Notes that the holder is done with the turn (it is dropped next).
    fn hand_on(&mut self) {
        self.handed_on = Some(std::time::Instant::now());
    }

    /// Notes that the turn was taken: the time since it was handed on counts as hand-off.
    fn taken(&mut self) {
        if let Some(at) = self.handed_on.take() {
            TurnCounters::elapsed(&TURN.handoff_nanos, at);
        }
    }
}

/// The SQLite transaction the members of one group commit share (on the writer's connection).
struct Shared {
    id: u64,
    /// A member ended without committing and is still to be undone.
    undo: bool,
    /// A member's `finish` waits in line for the turn to commit it: the members after it only
    /// wait to be told (see [`finish`]).
    committer: bool,
    /// How the shared transaction ended, for the members waiting on it.
    done: tokio::sync::watch::Sender<Option<Result<()>>>,
    /// The writes of the members that joined since the savepoint was last set and ran nothing
    /// but their deferred writes, in order: undoing a member rolls back to the savepoint and
    /// runs these again (see [`MEMBER_SAVEPOINT`]).
    replay: Vec<DeferredWrite>,
    /// The change counter as the shared transaction sees it, once a member has read it to check
    /// what its request took without reading ([`crate::calendar::guessing_scope`]); forgotten
    /// when a member moves it.
    counter: Option<i64>,
}

/// The savepoint that undoes a member without undoing the members before it. The opener sets
/// it at the end of its own writes, in the same round trip. A member that ran nothing before
/// its commit (a command that only writes, most of them) adds no statement: its writes are
/// kept in [`Shared::replay`], and undoing a later member rolls back to the savepoint and runs
/// them again. That is exact: the turn keeps the file's write lock all along, so the same
/// writes meet the same rows. A member that read or wrote in the turn before its commit cannot
/// be run again, so it moves the savepoint past itself when it commits (`RELEASE` and
/// `SAVEPOINT`, in its own round trip). Each such member used to release its own savepoint and
/// open the next one: 1.5 statements per request of case-lifecycle (docs/performance.md, issue
/// 9's eighteenth part). Leaving savepoints open, nested, made the turn's statements and the
/// `COMMIT` slower (call-finish 761–1,024 against 916–1,221 steps/s; the twelfth part): one is
/// open at a time here too.
const MEMBER_SAVEPOINT: &str = "SAVEPOINT yichuang_member";
const MEMBER_RELEASE: &str = "RELEASE yichuang_member";
const MEMBER_UNDO: &str = "ROLLBACK TO yichuang_member";

type Turn = tokio::sync::OwnedMutexGuard<Writer>;

/// How the writer's turn has been used in this process, on every SQLite file: the load tool
/// prints it, since a turn busy all the time is what bounds the write rate (issue 9).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TurnUse {
    /// Transactions that held the turn (each once, from `begin` to handing on its writes).
    pub members: u64,
    /// Time they held it, in seconds.
    pub member_seconds: f64,
    /// Shared transactions committed, and the time their `COMMIT`s held the turn.
    pub commits: u64,
    pub commit_seconds: f64,
    /// Of the members' time, what openers spent opening the shared transaction (`BEGIN
    /// IMMEDIATE`, and the writer's connection when it is first opened), and what members spent
    /// on their statements (reads and the deferred writes, run on the holder's thread, and those
    /// sent through sqlx): the rest is the holder's own work and its waits to run.
    pub opening_seconds: f64,
    pub statement_seconds: f64,
    /// Time the turn spent between holders: from one handing it on to the next running with it.
    /// While transactions wait in line that is the hand-off (the next holder's task woken and
    /// scheduled on a thread); when none waits, the turn's idle time is counted here too.
    pub handoff_seconds: f64,
    /// Members dropped while they held the turn, uncommitted (a request whose client went).
    pub dropped: u64,
}

struct TurnCounters {
    members: std::sync::atomic::AtomicU64,
    member_nanos: std::sync::atomic::AtomicU64,
    commits: std::sync::atomic::AtomicU64,
    commit_nanos: std::sync::atomic::AtomicU64,
    opening_nanos: std::sync::atomic::AtomicU64,
    statement_nanos: std::sync::atomic::AtomicU64,
    handoff_nanos: std::sync::atomic::AtomicU64,
    dropped: std::sync::atomic::AtomicU64,
}

static TURN: TurnCounters = TurnCounters {
    members: std::sync::atomic::AtomicU64::new(0),
    member_nanos: std::sync::atomic::AtomicU64::new(0),
    commits: std::sync::atomic::AtomicU64::new(0),
    commit_nanos: std::sync::atomic::AtomicU64::new(0),
    opening_nanos: std::sync::atomic::AtomicU64::new(0),
    statement_nanos: std::sync::atomic::AtomicU64::new(0),
    handoff_nanos: std::sync::atomic::AtomicU64::new(0),
    dropped: std::sync::atomic::AtomicU64::new(0),
};

impl TurnCounters {
    fn member(&self, since: std::time::Instant) {
        Self::add(&self.members, &self.member_nanos, since);
    }

    fn commit(&self, since: std::time::Instant) {
        Self::add(&self.commits, &self.commit_nanos, since);
    }

    fn elapsed(nanos: &std::sync::atomic::AtomicU64, since: std::time::Instant) {
        nanos.fetch_add(
            u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn add(
        count: &std::sync::atomic::AtomicU64,
        nanos: &std::sync::atomic::AtomicU64,
        since: std::time::Instant,
    ) {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self::elapsed(nanos, since);
    }
}

/// Counts time a member of the writer's turn waited for a statement ([`tx_run!`] and the flush
/// of deferred writes).
#[doc(hidden)]
pub fn statement_waited(since: std::time::Instant) {
    TurnCounters::elapsed(&TURN.statement_nanos, since);
}

/// The writer's turn as used so far (see [`TurnUse`]); subtract two readings for a span.
pub fn turn_use() -> TurnUse {
    use std::sync::atomic::Ordering::Relaxed;
    TurnUse {
        members: TURN.members.load(Relaxed),
        member_seconds: TURN.member_nanos.load(Relaxed) as f64 / 1e9,
        commits: TURN.commits.load(Relaxed),
        commit_seconds: TURN.commit_nanos.load(Relaxed) as f64 / 1e9,
        opening_seconds: TURN.opening_nanos.load(Relaxed) as f64 / 1e9,
        statement_seconds: TURN.statement_nanos.load(Relaxed) as f64 / 1e9,
        handoff_seconds: TURN.handoff_nanos.load(Relaxed) as f64 / 1e9,
        dropped: TURN.dropped.load(Relaxed),
    }
}

/// A SQLite write transaction: a member of its file's shared transaction, holding the
/// writer's turn from its first statement until it commits or is dropped. Its deferred writes
/// ([`Tx::write`]) wait outside the turn: a command that only writes (a case command starting
/// from a kept state, [`crate::cases::records::Source::Kept`]) does its own work (deciding,
/// the events' and state's JSON) before it queues, and holds the turn only to send them.
pub struct SqliteWrite {
    turn: Option<Turn>,
    /// When it got the turn, for [`turn_use`].
    since: std::time::Instant,
    /// It opened the shared transaction, so it works outside any savepoint: nobody else is in
    /// it yet, and a failure rolls the whole of it back.
    opener: bool,
    /// It has run a statement: dropped uncommitted, it has something to undo.
    touched: bool,
    deferred: Deferred,
    db: Db,
}

impl SqliteWrite {
    /// Queues for the writer's turn, if it does not hold it yet, and joins the shared
    /// transaction (opening one if none is open).
    async fn take_turn(&mut self) -> Result<()> {
        if self.turn.is_some() {
            return Ok(());
        }
        let Db::Sqlite(p) = &self.db else {
            unreachable!("a SQLite write belongs to a SQLite database")
        };
        let writer = writer_of(p.connect_options().get_filename());
        let mut turn = tokio::time::timeout(WRITER_WAIT, writer.lock_owned())
            .await
            .map_err(|_| db_err(sqlx::Error::PoolTimedOut))?;
        turn.taken();
        settle(&mut turn).await;
        self.since = std::time::Instant::now();
        self.opener = turn.open.is_none();
        if self.opener {
            if turn.conn.is_none() {
                turn.conn = Some(crate::direct::WriterConn::open(p).await?);
            }
            turn.conn.as_mut().expect("opened above").begin().await?;
            TurnCounters::elapsed(&TURN.opening_nanos, self.since);
            turn.opened += 1;
            turn.open = Some(Shared {
                id: turn.opened,
                undo: false,
                committer: false,
                done: tokio::sync::watch::Sender::new(None),
                replay: Vec::new(),
                counter: None,
            });
        }
        self.turn = Some(turn);
        // Checked before it runs anything: a request that took the counter from an earlier
        // read and finds it moved runs again whole, and this member, having run nothing, is
        // dropped with nothing to undo.
        if let Some(guess) = crate::calendar::unchecked(&self.db) {
            if self.counter_in_turn().await? != guess {
                crate::calendar::found_moved();
                return Err(counter_moved());
            }
            crate::calendar::checked();
        }
        Ok(())
    }

    /// The change counter as the shared transaction sees it: read in the turn by the first
    /// member that needs it, and kept for the others until a member moves it.
    async fn counter_in_turn(&mut self) -> Result<i64> {
        let Writer { open, conn, .. } = &mut **self.turn.as_mut().expect("joined");
        let shared = open.as_mut().expect("open while a member holds the turn");
        if let Some(v) = shared.counter {
            return Ok(v);
        }
        let c = conn
            .as_mut()
            .expect("a shared transaction is open on the writer's connection")
            .here()
            .await?;
        let v = crate::read_here::read_on(c).map_err(crate::direct::direct_err)?;
        shared.counter = Some(v);
        Ok(v)
    }

    fn writer(&mut self) -> &mut crate::direct::WriterConn {
        self.touched = true;
        self.turn
            .as_mut()
            .filter(|t| t.open.is_some())
            .and_then(|t| t.conn.as_mut())
            .expect("a member holds the turn of an open shared transaction until it ends")
    }

    /// The connection of the shared transaction, for a statement through sqlx.
    pub fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        self.writer().sqlx()
    }

    /// Runs `f` on the shared transaction's connection on this thread ([`crate::direct`]);
    /// counted as waiting for a statement.
    async fn direct<R>(&mut self, f: impl FnOnce(&rusqlite::Connection) -> Result<R>) -> Result<R> {
        self.take_turn().await?;
        let since = std::time::Instant::now();
        let r = self.writer().here().await.and_then(f);
        statement_waited(since);
        r
    }

    /// Sends what was deferred; it holds the turn after, so that a statement through sqlx
    /// ([`tx_run!`]) can follow.
    async fn flush(&mut self) -> Result<()> {
        self.take_turn().await?;
        if self.deferred.count == 0 {
            return Ok(());
        }
        let deferred = std::mem::take(&mut self.deferred);
        self.direct(|c| crate::direct::execute(c, &deferred.list))
            .await
    }

    /// Commits this member's part: its writes are in the shared transaction, which is committed
    /// by the first member to get the turn back; the answer waits for that `COMMIT`.
    async fn commit(mut self) -> Result<()> {
        if self.turn.is_none() && self.deferred.count == 0 {
            // It neither read nor wrote: there is nothing to commit.
            return Ok(());
        }
        // Joins the shared transaction first: whether it opened it decides its savepoint.
        self.take_turn().await?;
        // Nothing of it has run yet: its deferred writes are all it does, and they can be run
        // again (see [`MEMBER_SAVEPOINT`]).
        let replayable = !self.opener && !self.touched;
        if !replayable {
            if !self.opener {
                self.deferred.push(MEMBER_RELEASE, vec![]);
            }
            self.deferred.push(MEMBER_SAVEPOINT, vec![]);
        }
        let sent = if replayable {
            let list = std::mem::take(&mut self.deferred).list;
            self.direct(|c| crate::direct::execute(c, &list))
                .await
                .map(|()| list)
        } else {
            self.flush().await.map(|()| Vec::new())
        };
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => {
                let turn = self.turn.take().expect("held until the end");
                undo(turn, self.opener).await;
                TURN.member(self.since);
                return Err(e);
            }
        };
        let mut turn = self.turn.take().expect("held until the end");
        if let Some(shared) = turn.open.as_mut() {
            if replayable {
                shared.replay.extend(sent);
            } else {
                // The savepoint is past this member now, and past those before it.
                shared.replay.clear();
            }
        }
        turn.hand_on();
        let shared = turn
            .open
            .as_mut()
            .expect("open while a member holds the turn");
        let commits = !std::mem::replace(&mut shared.committer, true);
        let (id, done) = (shared.id, shared.done.subscribe());
        if !commits {
            drop(turn);
            TURN.member(self.since);
            return told(done).await;
        }
        let writer = tokio::sync::OwnedMutexGuard::mutex(&turn).clone();
        // Its own task, so that a caller that stops waiting (a client gone) cannot leave the
        // shared transaction open with nobody to commit it. Spawned before the turn is handed
        // on: tokio runs the task it woke last on this thread first, and that should be the
        // next holder of the turn, not this commit waiting in line behind it.
        let finished = tokio::spawn(finish(writer, id, done));
        drop(turn);
        TURN.member(self.since);
        finished
            .await
            .map_err(|e| Error::internal(format!("group commit task failed: {e}")))?
    }
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        if let Some(mut turn) = self.turn.take() {
            TURN.member(self.since);
            TURN.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            forget(&mut turn, self.opener, self.touched);
        }
    }
}

/// Ends a member that did not commit, without waiting: the opener takes the shared transaction
/// with it (nobody else is in it yet: it is rolled back); a member that ran statements leaves
/// its savepoint to be undone by the next holder of the turn, before anything else runs.
fn forget(turn: &mut Turn, opener: bool, touched: bool) {
    if opener {
        turn.open = None;
        if let Some(c) = turn.conn.as_mut() {
            c.roll_back_now();
        }
    } else if let Some(shared) = turn.open.as_mut() {
        shared.undo |= touched;
    }
}

/// Rolls a failed member back now (see [`forget`]), and passes the turn on.
async fn undo(mut turn: Turn, opener: bool) {
    forget(&mut turn, opener, true);
    settle(&mut turn).await;
}

/// Undoes a member that failed or was dropped: rolls back to the savepoint and runs again the
/// writes of the members after it ([`MEMBER_SAVEPOINT`]). If that fails the shared transaction
/// can no longer be trusted: it is rolled back and its members are told.
async fn settle(turn: &mut Turn) {
    let turn = &mut **turn;
    let (Some(shared), Some(conn)) = (turn.open.as_mut().filter(|s| s.undo), turn.conn.as_mut())
    else {
        return;
    };
    let undone = conn.here().await.and_then(|c| {
        c.execute_batch(MEMBER_UNDO)
            .map_err(crate::direct::direct_err)?;
        crate::direct::execute(c, &shared.replay)
    });
    match undone {
        Ok(()) => {
            shared.undo = false;
            // The member undone may have moved it.
            shared.counter = None;
        }
        Err(e) => {
            let shared = turn.open.take().expect("checked above");
            conn.roll_back().await;
            let mut failed = Error::new(
                Kind::Unavailable,
                COMMIT_UNKNOWN,
                "数据库保存失败，本次操作没有保存，请重试",
            );
            failed.detail = Some(format!("undoing a member's savepoint failed: {e}"));
            shared.done.send_replace(Some(Err(failed)));
        }
    }
}

/// How a shared transaction ended, once it has.
async fn told(mut done: tokio::sync::watch::Receiver<Option<Result<()>>>) -> Result<()> {
    ended_as(done.wait_for(Option::is_some).await.map(|v| v.clone()))
}

/// For the first member of the shared transaction `id` to commit its part: queues for the turn
/// again and commits the shared transaction when it gets it, if it is still open (every member
/// that joined before then was in line before it), or waits to be told how it ended. The
/// members after the first only wait to be told: when each queued too, each took the turn in
/// its place in line after the `COMMIT` only to hand it on, and a hand-off between tasks costs
/// the turn about 0.07 ms on this machine's two busy cores (docs/performance.md, issue 9's
/// thirteenth part).
async fn finish(
    writer: std::sync::Arc<tokio::sync::Mutex<Writer>>,
    id: u64,
    mut done: tokio::sync::watch::Receiver<Option<Result<()>>>,
) -> Result<()> {
    let mut turn = tokio::select! {
        biased;
        ended = done.wait_for(Option::is_some) => return ended_as(ended.map(|v| v.clone())),
        turn = writer.lock_owned() => turn,
    };
    turn.taken();
    // Taken: should this task fail to commit, the next member to commit its part queues again.
    if let Some(shared) = turn.open.as_mut().filter(|s| s.id == id) {
        shared.committer = false;
    }
    if turn.open.as_ref().is_some_and(|s| s.id == id) {
        settle(&mut turn).await;
    }
    if turn.open.as_ref().is_some_and(|s| s.id == id) {
        let ended = commit_open(&mut turn).await.expect("checked open above");
        turn.hand_on();
        return ended;
    }
    turn.hand_on();
    drop(turn);
    told(done).await
}

/// Commits the open shared transaction, if any, and tells its members how it ended.
async fn commit_open(writer: &mut Writer) -> Option<Result<()>> {
    let shared = writer.open.take()?;
    let since = std::time::Instant::now();
    let conn = writer
        .conn
        .as_mut()
        .expect("a shared transaction is open on the writer's connection");
    let ended = conn.commit().await;
    TURN.commit(since);
    shared.done.send_replace(Some(ended.clone()));
    Some(ended)
}

fn ended_as(
    ended: std::result::Result<Option<Result<()>>, tokio::sync::watch::error::RecvError>,
) -> Result<()> {
    match ended {
        Ok(Some(r)) => r,
        // The shared transaction went away untold (its task panicked): sqlx rolled it back.
        _ => Err(Error::new(
            Kind::Unavailable,
            COMMIT_UNKNOWN,
            "数据库保存失败，本次操作没有保存，请重试",
        )),
    }
}

/// How many shared transactions this process has opened on `db`'s file.
#[cfg(test)]
pub(crate) async fn shared_transactions_opened(db: &Db) -> u64 {
    match db {
        Db::Sqlite(p) => {
            writer_of(p.connect_options().get_filename())
                .lock()
                .await
                .opened
        }
        Db::Postgres(_) => 0,
    }
}

/// The writer of each SQLite file this process writes (two handles on one file share it).
fn writer_of(file: &std::path::Path) -> std::sync::Arc<tokio::sync::Mutex<Writer>> {
    static WRITERS: std::sync::LazyLock<
        std::sync::Mutex<
            std::collections::HashMap<
                std::path::PathBuf,
                std::sync::Arc<tokio::sync::Mutex<Writer>>,
            >,
        >,
    > = std::sync::LazyLock::new(Default::default);
    let mut all = WRITERS.lock().unwrap_or_else(|p| p.into_inner());
    all.entry(file.to_path_buf()).or_default().clone()
}

/// Runs `$body` with `$c` bound to the transaction's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`). Use `&mut *$c` for each query when the body runs several.
#[macro_export]
macro_rules! tx_run {
    ($tx:expr, |$c:ident| $body:expr) => {{
        let __tx: &mut $crate::Tx = $tx;
        // What the transaction deferred runs first, so every statement sees it.
        __tx.flush().await?;
        match __tx {
            $crate::Tx::Sqlite(__w) => {
                let __since = ::std::time::Instant::now();
                let __r = {
                    let $c = __w.conn();
                    $body
                };
                $crate::db::statement_waited(__since);
                __r
            }
            $crate::Tx::Postgres(__w) => {
                let $c = __w.conn();
                $body
            }
        }
    }};
}

/// Runs `$body` with `$c` bound to the pool (`&SqlitePool` or `&PgPool`): for reads.
#[macro_export]
macro_rules! db_run {
    ($db:expr, |$c:ident| $body:expr) => {{
        match $db {
            $crate::Db::Sqlite(__p) => {
                let $c = __p;
                $body
            }
            $crate::Db::Postgres(__p) => {
                let $c = __p;
                $body
            }
        }
    }};
}

/// The code of the error a guarded write ([`Tx::write_guarded`]) fails with when its row has
/// changed since it was read: the caller reads it again and retries.
pub const STALE: &str = "stale_row";

/// What a guarded update on PostgreSQL that changed no row fails its list with
/// ([`Deferred::push_inlined_guarded`]): the text in the failed cast's message.
const PG_STALE: &str = "yichuang_stale_row";

/// What a PostgreSQL list that found the change counter moved fails with ([`checking`]).
const PG_COUNTER_MOVED: &str = "yichuang_counter_moved";

/// The code of the error a write fails with when its request took the change counter from an
/// earlier read and the counter has moved since ([`crate::calendar::guessing_scope`]): the
/// request runs again.
pub const COUNTER_MOVED: &str = "counter_moved";

/// The error of a write whose request took the change counter from an earlier read, and
/// found it moved ([`COUNTER_MOVED`]). Nobody sees its message: the request runs again.
fn counter_moved() -> Error {
    Error::new(Kind::Conflict, COUNTER_MOVED, "数据已被他人更新，请重试")
}

/// The error of a change begun from a row that has since moved on ([`STALE`]).
pub fn stale_row() -> Error {
    Error::conflict(STALE, "记录已被他人更新，请刷新后重试")
}

/// How long a SQLite statement waits for a lock another process holds on the file.
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL: the connections a pool opens.
const PG_CONNECTIONS: u32 = 16;

/// PostgreSQL: how long a request waits for a connection, or a write for its place among
/// [`PG_WRITERS`], before answering `database_busy`.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL: how many write transactions hold a connection at once, of [`PG_CONNECTIONS`].
///
/// A write may read through the pool while it holds its own connection: a value kept in this
/// process and read on its first use, a setting (`settings::get_in`). Were every connection
/// held by a write that waits for one more, none could go on, and each would wait out the
/// pool's timeout and answer 503: seen at 16 clients accepting their first cases at once. So
/// writes hold at most 11 connections, the hall feed's listener holds one, and four are left
/// for reads. A read waits for nothing but a connection, so a write's read always finds one
/// soon. Writes beyond the 11 wait in line, first come first served, holding no connection;
/// PostgreSQL on a few cores gains nothing from more of them at once.
pub const PG_WRITERS: usize = 11;

/// The places of the writes on one PostgreSQL database ([`PG_WRITERS`]), shared by the pools of
/// this process that reach it (the tests run two instances on one database).
fn pg_writers(db: &Db) -> std::sync::Arc<tokio::sync::Semaphore> {
    static WRITERS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut all = WRITERS.lock().unwrap_or_else(|p| p.into_inner());
    all.entry(db.identity())
        .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(PG_WRITERS)))
        .clone()
}

/// How long a write waits for the SQLite writer's turn before answering `database_busy`: the
/// same as the busy timeout it replaces.
const WRITER_WAIT: Duration = SQLITE_BUSY_TIMEOUT;

pub(crate) static SQLITE_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The versions of each backend's migration set, for the test that keeps them in step.
pub fn migration_versions() -> (Vec<i64>, Vec<i64>) {
    let v = |m: &sqlx::migrate::Migrator| m.iter().map(|x| x.version).collect::<Vec<_>>();
    (v(&SQLITE_MIGRATIONS), v(&POSTGRES_MIGRATIONS))
}

/// A receipt the citizen holds must survive a power cut, not only a crash of the process: SQLite
/// syncs the write-ahead log at every commit (`FULL`) unless the URL says
/// `?synchronous=normal` (faster; a power cut may lose the last commits, never corrupts).
fn sqlite_synchronous(path: &str) -> Result<(String, SqliteSynchronous)> {
    let Some((file, query)) = path.split_once('?') else {
        return Ok((path.to_string(), SqliteSynchronous::Full));
    };
    let mut synchronous = SqliteSynchronous::Full;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("synchronous", v)) => {
                synchronous = match v.to_ascii_lowercase().as_str() {
                    "full" => SqliteSynchronous::Full,
                    "normal" => SqliteSynchronous::Normal,
                    _ => {
                        return Err(Error::invalid(
                            "invalid_database_url",
                            format!("synchronous 只能是 full 或 normal，而不是“{v}”"),
                        ));
                    }
                }
            }
            _ => rest.push(pair),
        }
    }
    let file = if rest.is_empty() {
        file.to_string()
    } else {
        format!("{file}?{}", rest.join("&"))
    };
    Ok((file, synchronous))
}

impl Db {
    /// Connects by URL scheme: `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let (path, synchronous) = sqlite_synchronous(rest.trim_start_matches("//"))?;
            if path.is_empty() {
                return Err(Error::invalid(
                    "invalid_database_url",
                    "SQLite 数据库地址缺少文件路径，例如 sqlite://yichuang.db",
                ));
            }
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(|e| {
                    Error::invalid("invalid_database_url", format!("无法解析数据库地址：{e}"))
                })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                // SQLite's own page cache is 2 MB per connection by default; with a million
                // cases the indexes an acceptance touches no longer fit and every statement
                // copies pages in from the OS. 32 MB per connection (at most 8) keeps them.
                .pragma("cache_size", "-32768")
                // Each member of a shared transaction is a savepoint, so SQLite keeps the pages
                // it changes in a sub-journal, a temporary file once past 64 kB: `perf` showed
                // the turn's statements writing it to disk (`subjournalPageIfRequired` →
                // `pwrite`). It is undone or dropped before the commit and nothing recovers
                // from it after a crash (the log does that), so it lives in memory.
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // sqlx pings an idle connection before lending it, to find one the server
                // dropped. A SQLite connection is a file in this process: nothing can drop it,
                // and the ping is one more hand-off to its thread on every read (issue 9).
                .test_before_acquire(false)
                .connect_with(opts)
                .await
                .map_err(|e| {
                    Error::new(
                        yichuang_domain::Kind::Unavailable,
                        "database_unavailable",
                        format!("无法打开数据库文件 {path}：{e}"),
                    )
                })?;
            // A file made anew under a path this process wrote before: the writer's connection
            // to the old file is not the new file's. Checked here, not at every write; a turn
            // held meanwhile is a live transaction on the file (and waiting for it could be
            // waiting for ourselves), so that case is left be.
            let writer = writer_of(pool.connect_options().get_filename());
            if let Ok(mut turn) = writer.try_lock()
                && let Some(old) = turn
                    .conn
                    .take_if(|c| !c.writes(pool.connect_options().get_filename()))
            {
                old.close().await;
            }
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(PG_CONNECTIONS)
                .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                .connect(url)
                .await
                .map_err(|e| {
                    Error::new(
                        yichuang_domain::Kind::Unavailable,
                        "database_unavailable",
                        format!("无法连接 PostgreSQL：{e}"),
                    )
                })?;
            Ok(Db::Postgres(pool))
        } else {
            Err(Error::invalid(
                "invalid_database_url",
                "不支持的数据库地址：只支持 sqlite://文件路径 或 postgres://用户@主机/数据库",
            )
            .field("database", "地址须以 sqlite:// 或 postgres:// 开头"))
        }
    }

    /// Reads rows as last committed, each into a `T` by column name, outside any transaction:
    /// on SQLite on the asking thread ([`crate::read_here`]) when it can, so that a hot path's
    /// point read costs no hand-off to a pool connection's thread; otherwise through the pool.
    pub async fn read<T>(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>>
    where
        T: ReadRow + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        if let Db::Sqlite(p) = self
            && let Some(rows) =
                crate::read_here::rows(p.connect_options().get_filename(), sql, &args)
        {
            return Ok(rows);
        }
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        db_run!(self, |c| {
            let q = sqlx::query_as::<_, T>(sql);
            bind_args!(q, &args).fetch_all(c).await.map_err(db_err)
        })
    }

    /// Which database this handle reaches (the SQLite file, or PostgreSQL host, port and
    /// database): the key of process-wide caches of rows that never change once written.
    pub fn identity(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite:{}", p.connect_options().get_filename().display()),
            Db::Postgres(p) => {
                let o = p.connect_options();
                format!(
                    "postgres:{}:{}/{}",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or("")
                )
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend (PostgreSQL takes an advisory lock, so
    /// several instances starting at once are safe).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        }
        .map_err(|e| Error::internal(format!("migration failed: {e}")))
    }

    /// Begins a write transaction: the single entry every write goes through (issue 9).
    ///
    /// SQLite has one writer. Waiting for its lock inside `BEGIN IMMEDIATE` would hold a pooled
    /// connection while the busy handler sleeps and polls (late, unfair, and enough waiters take
    /// every connection the writer needs for its reads). So the writers of this process first
    /// queue, first come first served and holding no connection, for the file's writer turn,
    /// and the transactions that waited for one turn commit together ([`Writer`]). A
    /// transaction queues at its first statement, not here ([`SqliteWrite`]): what it only
    /// writes waits outside the turn until then.
    /// `BEGIN IMMEDIATE` still guards against other processes on the same file, and means a
    /// transaction that reads before it writes cannot fail half-way with SQLITE_BUSY. A
    /// transaction that runs a statement while the same task's other transaction holds the
    /// turn would wait for itself: it gives up after the busy timeout as `database_busy`
    /// instead.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(_) => {
                crate::calendar::read_ahead(self).await?;
                Tx::Sqlite(SqliteWrite {
                    turn: None,
                    since: std::time::Instant::now(),
                    opener: false,
                    touched: false,
                    deferred: Deferred::default(),
                    db: self.clone(),
                })
            }
            Db::Postgres(p) => {
                // The places are never closed: only the wait can fail.
                let slot =
                    tokio::time::timeout(PG_ACQUIRE_TIMEOUT, pg_writers(self).acquire_owned())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .ok_or_else(|| {
                            busy(format!(
                                "waited {} s for a place among the {PG_WRITERS} PostgreSQL writes",
                                PG_ACQUIRE_TIMEOUT.as_secs()
                            ))
                        })?;
                Tx::Postgres(PgWrite {
                    tx: p.begin().await.map_err(db_err)?,
                    deferred: Deferred::default(),
                    db: self.clone(),
                    _slot: slot,
                })
            }
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => {
                // The writer's connection too; a shared transaction still open is committed
                // first (its members wait for that).
                let writer = writer_of(p.connect_options().get_filename());
                let mut turn = writer.lock().await;
                let _ = commit_open(&mut turn).await;
                if let Some(conn) = turn.conn.take() {
                    conn.close().await;
                }
                drop(turn);
                crate::read_here::close(p.connect_options().get_filename());
                p.close().await
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// A row [`Tx::read`] can read on both backends: by column name through serde on SQLite
/// ([`crate::direct`], straight from the cells: [`crate::cells`]), through sqlx on PostgreSQL.
pub trait ReadRow:
    serde::de::DeserializeOwned + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin
{
}

impl<T> ReadRow for T where
    T: serde::de::DeserializeOwned
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

impl Tx {
    /// Commits (a lost connection: see [`commit_failed`]). On SQLite it answers once the
    /// shared transaction holding its writes has committed ([`Writer`]).
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(w) => w.commit().await,
            Tx::Postgres(mut w) => {
                w.check_counter().await?;
                w.tx.commit().await.map_err(commit_failed)
            }
        }
    }

    /// A write that answers nothing (no rows, no count the caller needs). It is deferred to
    /// the transaction's next statement or its commit and sent with the other deferred writes
    /// in one round trip (on SQLite one hand-off to the connection's thread, on PostgreSQL one
    /// simple query with the values as literals); its error then surfaces there, failing the
    /// whole transaction as it would have here.
    pub async fn write(&mut self, sql: &str, args: Vec<Arg>) -> Result<()> {
        match self {
            Tx::Sqlite(w) => w.deferred.push(sql, args),
            Tx::Postgres(w) => w.deferred.push_inlined(sql, &args)?,
        }
        Ok(())
    }

    /// A deferred `UPDATE` ([`Tx::write`]) whose `WHERE` names the row as it was read: if it
    /// changes no row (someone changed that row since), the transaction fails with [`STALE`]
    /// when the write is sent, and nothing of it is written. On PostgreSQL an update that
    /// finds the row locked waits for that transaction and then tests its `WHERE` against the
    /// row as that one left it.
    pub async fn write_guarded(&mut self, sql: &str, args: Vec<Arg>) -> Result<()> {
        match self {
            Tx::Sqlite(w) => w.deferred.push_guarded(sql, args, true),
            Tx::Postgres(w) => w.deferred.push_inlined_guarded(sql, &args, true)?,
        }
        Ok(())
    }

    /// Reads rows inside the transaction, each into a `T` by column name; what was deferred is
    /// sent first. On SQLite the turn's holder runs it itself ([`crate::direct`]): the reads of
    /// the hot paths (calling, serving) go through here rather than [`tx_run!`], so their
    /// transaction costs the turn no hand-off to the connection's thread.
    pub async fn read<T: ReadRow>(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>> {
        self.flush().await?;
        match self {
            Tx::Sqlite(w) => w.direct(|c| crate::direct::read(c, sql, &args)).await,
            Tx::Postgres(w) => {
                let q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.to_string()));
                bind_args!(q, &args)
                    .fetch_all(w.conn())
                    .await
                    .map_err(db_err)
            }
        }
    }

    /// The one row of a statement that answers at most one, read as [`Tx::read`] reads.
    pub async fn read_one<T: ReadRow>(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<T>> {
        Ok(self.read(sql, args).await?.pop())
    }

    /// Runs a statement that answers one value named `value` (`RETURNING id AS value`) inside
    /// the transaction, as [`Tx::read`] runs reads.
    pub async fn returning(&mut self, sql: &str, args: Vec<Arg>) -> Result<i64> {
        self.returning_optional(sql, args)
            .await?
            .ok_or_else(|| Error::internal(format!("no answer from {sql}")))
    }

    /// The value named `value` of a statement that answers at most one row (a conditional
    /// update's `RETURNING id AS value`, a lookup's `SELECT id AS value`), as [`Tx::read`] runs
    /// reads.
    pub async fn returning_optional(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<i64>> {
        #[derive(sqlx::FromRow, serde::Deserialize)]
        struct Answer {
            value: i64,
        }
        Ok(self.read_one::<Answer>(sql, args).await?.map(|a| a.value))
    }

    /// The texts named `value` of a statement's rows (`SELECT name AS value`), as [`Tx::read`]
    /// runs reads.
    pub async fn texts(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<String>> {
        #[derive(sqlx::FromRow, serde::Deserialize)]
        struct Answer {
            value: String,
        }
        let rows: Vec<Answer> = self.read(sql, args).await?;
        Ok(rows.into_iter().map(|a| a.value).collect())
    }

    /// Notes that this transaction moved the change counter: the members after it in the
    /// SQLite writer's turn read it again ([`crate::calendar::bump`]).
    pub(crate) fn counter_moved(&mut self) {
        if let Tx::Sqlite(w) = self
            && let Some(shared) = w.turn.as_mut().and_then(|t| t.open.as_mut())
        {
            shared.counter = None;
        }
    }

    /// Checks now, on PostgreSQL, the change counter its request took from an earlier read
    /// ([`crate::calendar::guessing_scope`]), if no write has checked it yet: before the request
    /// moves the counter itself. On SQLite joining the writer's turn checks it.
    pub(crate) async fn check_counter(&mut self) -> Result<()> {
        match self {
            Tx::Sqlite(_) => Ok(()),
            Tx::Postgres(w) => w.check_counter().await,
        }
    }

    /// Sends what the transaction deferred (see [`Tx::write`]).
    pub async fn flush(&mut self) -> Result<()> {
        match self {
            Tx::Sqlite(w) => w.flush().await,
            Tx::Postgres(w) => w.flush().await,
        }
    }

    /// Runs a statement only PostgreSQL has (a lock, a notification) with one text value; on
    /// SQLite it does nothing. What was deferred is sent first, so it runs in call order.
    pub async fn on_postgres(&mut self, sql: &'static str, value: &str) -> Result<()> {
        if let Tx::Postgres(w) = self {
            w.flush().await?;
            sqlx::query(sql)
                .bind(value)
                .execute(w.conn())
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(..) => Backend::Postgres,
        }
    }

    /// The database the transaction writes, for what is kept of it (settings, halls): rows
    /// read through it come from outside the transaction, as of the last commit.
    pub fn db(&self) -> &Db {
        match self {
            Tx::Sqlite(w) => &w.db,
            Tx::Postgres(w) => &w.db,
        }
    }
}

/// A commit that failed. A connection lost here is not [`CONNECTION_LOST`]: the server may
/// have committed before the acknowledgement was lost, so running the work again could do it
/// twice; the caller is told to check instead.
pub(crate) fn commit_failed(e: sqlx::Error) -> Error {
    let e = db_err(e);
    if e.code == CONNECTION_LOST {
        let mut u = Error::new(
            Kind::Unavailable,
            COMMIT_UNKNOWN,
            "数据库连接在保存时中断，无法确认是否已保存，请刷新后核对再操作",
        );
        u.detail = e.detail;
        u
    } else {
        e
    }
}

/// The code of an error that lost the database connection before anything was committed: the
/// transaction was rolled back with the connection, so the work may safely run again
/// ([`retry_once`]).
pub const CONNECTION_LOST: &str = "database_connection_lost";
/// The connection was lost while committing: whether the work was saved is unknown.
pub const COMMIT_UNKNOWN: &str = "database_commit_unknown";
/// No connection could be had in time (the pool is exhausted or the database is down).
pub const DATABASE_BUSY: &str = "database_busy";

/// PostgreSQL's SQLSTATEs for a connection the server ended or never kept: 57P01
/// admin_shutdown (pg_terminate_backend, a fast shutdown), 57P02 crash_shutdown, 57P03
/// cannot_connect_now, and class 08, connection exceptions.
fn is_connection_state(code: &str) -> bool {
    matches!(code, "57P01" | "57P02" | "57P03") || code.starts_with("08")
}

/// Maps a driver error onto the platform's error: unique violations become a conflict the
/// caller can explain; a lost or unavailable database is 503 (the client may try again); the
/// rest is internal (logged, not shown).
pub fn db_err(e: sqlx::Error) -> Error {
    let lost = || {
        Error::new(
            Kind::Unavailable,
            CONNECTION_LOST,
            "数据库暂时不可用，请稍后重试",
        )
    };
    match &e {
        sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => return lost().with_detail(&e),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => return busy(&e),
        _ => {}
    }
    if let Some(d) = e.as_database_error() {
        if d.code().is_some_and(|c| is_connection_state(&c)) {
            return lost().with_detail(d.message());
        }
        if d.is_unique_violation() {
            return duplicate(d.message());
        }
        if d.is_foreign_key_violation() {
            return unknown_reference(d.message());
        }
    }
    if matches!(e, sqlx::Error::RowNotFound) {
        return Error::not_found("not_found", "记录不存在");
    }
    Error::internal(e)
}

/// The code of a broken unique key ([`duplicate`]).
pub const DUPLICATE: &str = "duplicate";

/// A unique key broken: a conflict the caller can explain (both drivers' errors map here).
pub(crate) fn duplicate(detail: impl std::fmt::Display) -> Error {
    Error::conflict(DUPLICATE, "记录已存在（编码或名称重复）").with_detail(detail)
}

/// A foreign key broken.
pub(crate) fn unknown_reference(detail: impl std::fmt::Display) -> Error {
    Error::invalid("unknown_reference", "引用的记录不存在").with_detail(detail)
}

/// No connection or lock could be had in time.
pub(crate) fn busy(detail: impl std::fmt::Display) -> Error {
    Error::new(
        Kind::Unavailable,
        DATABASE_BUSY,
        "数据库暂时不可用，请稍后重试",
    )
    .with_detail(detail)
}

/// Runs a unit of work (its own transaction, begun and committed inside `work`) and runs it again
/// (at most twice more) when the database connection was lost before the commit: a PostgreSQL restart or a
/// terminated backend then costs the client nothing. A loss during the commit itself is not
/// retried (see [`Tx::commit`]). `work` must have no effect outside its transaction before it
/// commits.
pub async fn retry_once<T, F, Fut>(mut work: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    // After an outage the pool may hand out more than one connection that is already dying
    // (PostgreSQL ends terminated backends a moment after it is asked to), so a lost connection
    // is tried again up to twice; each failure takes its connection out of the pool.
    let mut left = 2;
    loop {
        match work().await {
            Err(e) if e.code == CONNECTION_LOST && left > 0 => {
                left -= 1;
                tracing::warn!(detail = ?e.detail, "database connection lost; running the transaction again");
            }
            r => return r,
        }
    }
}

/// The `VALUES` list of a multi-row insert of `rows` rows of `columns` parameters each:
/// `($1, $2), ($3, $4)`. Parameters are numbered from `$1`.
pub fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let params: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, $first+1, …`: `count` numbered parameters, for an `IN (…)` list bound after the
/// statement's own parameters.
pub(crate) fn parameter_list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Timestamps are stored as UTC microseconds since the epoch (BIGINT on both backends): one
/// representation, exact, and the same bind code everywhere.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

#[cfg(test)]
mod connection_loss_tests {
    use std::borrow::Cow;

    use super::*;

    /// A PostgreSQL error as the driver reports it, with just the SQLSTATE that matters here.
    #[derive(Debug)]
    struct PgState(&'static str);

    impl std::fmt::Display for PgState {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for PgState {}

    impl sqlx::error::DatabaseError for PgState {
        fn message(&self) -> &str {
            "terminating connection due to administrator command"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn pg(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(PgState(code)))
    }

    #[test]
    fn a_multi_row_insert_numbers_its_parameters_row_by_row() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(1, 1), "($1)");
        assert_eq!(placeholders(0, 4), "");
    }

    #[test]
    fn a_terminated_or_dropped_connection_is_unavailable_and_may_be_retried() {
        for code in ["57P01", "57P02", "57P03", "08006", "08003", "08000"] {
            let e = db_err(pg(code));
            assert_eq!(
                (e.kind, e.code.as_ref()),
                (Kind::Unavailable, CONNECTION_LOST),
                "{code}"
            );
            assert_eq!(e.title, "数据库暂时不可用，请稍后重试");
        }
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(db_err(sqlx::Error::Io(io)).code, CONNECTION_LOST);
        let busy = db_err(sqlx::Error::PoolTimedOut);
        assert_eq!(
            (busy.kind, busy.code.as_ref()),
            (Kind::Unavailable, DATABASE_BUSY)
        );
        // Other database errors keep their meaning.
        assert_eq!(db_err(pg("42601")).kind, Kind::Internal);
    }

    #[tokio::test]
    async fn work_that_lost_its_connection_runs_again_at_most_twice_more() {
        let mut runs = 0;
        let r: Result<u32> = retry_once(|| {
            runs += 1;
            let attempt = runs;
            async move {
                if attempt == 1 {
                    Err(db_err(pg("57P01")))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!((r, runs), (Ok(7), 2));

        let mut runs = 0;
        let r: Result<u32> = retry_once(|| {
            runs += 1;
            async { Err(db_err(pg("57P01"))) }
        })
        .await;
        assert_eq!((r.unwrap_err().code.as_ref(), runs), (CONNECTION_LOST, 3));

        // Not knowing whether the commit happened is never a reason to do the work again.
        let mut runs = 0;
        let r: Result<u32> = retry_once(|| {
            runs += 1;
            async { Err(Error::new(Kind::Unavailable, COMMIT_UNKNOWN, "x")) }
        })
        .await;
        assert_eq!((r.unwrap_err().code.as_ref(), runs), (COMMIT_UNKNOWN, 1));
    }
}
