//! The case clock: time is a budget, not a stored date (ARCHITECTURE principle 3).
//!
//! A case holds its limit in working days plus a ledger of suspensions and extensions; the due
//! date is *derived* from that ledger and the calendar every time it is read, so a corrected
//! holiday notice or a local day off moves every open deadline.
//!
//! # Definitions
//!
//! * **Start** (R-FIRST-DAY): the acceptance date. Counting starts the next day; the due date is
//!   the last day of the limit, i.e. `add_working_days(start, limit)` when nothing is suspended.
//! * **Suspension** from date `s` to date `r` (补正 R-SUPPLEMENT-PAUSE, special procedures
//!   R-SPECIAL-TIME): the working days in the half-open interval `(s, r]` do not count. The day
//!   the suspension starts still counts (the clock ran that day, the notice was written that
//!   day); the day it ends does not (materials received on `r`: counting resumes the day after,
//!   the same R-FIRST-DAY rule as at acceptance). A suspension started and ended on the same day
//!   costs nothing.
//!
//!   Example: accepted Mon 2026-03-02, limit 5 → due Mon 03-09 (03-03, 03-04, 03-05, 03-06,
//!   03-09). One-time notice on Wed 03-04, materials received Fri 03-06: 03-05 and 03-06 do not
//!   count, so the five days are 03-03, 03-04, 03-09, 03-10, 03-11 → due Wed 03-11.
//! * A suspension only shifts days that were still to come: working days are counted one by one
//!   along the calendar, skipping those inside a suspension, and the due date is the day the
//!   count reaches the budget. A suspension that starts after the due date therefore cannot make
//!   an overdue case punctual again.
//! * An **open** suspension (no resume yet) freezes the clock: it is read as if it ended today,
//!   so `working_days_left` stays where it was when it began and the due date shown moves with
//!   the days (a provisional date; [`ClockReading::suspended`] says so).
//! * **Extensions** (R-DECIDE-20D) add their working days to the budget.
//! * **Working days left** (API-V1): the working days after `today` up to and including the due
//!   date: 0 on the due date, negative once overdue.
//! * **Warning**: red once overdue; yellow when the share of the budget used reaches the
//!   setting (80% by default; the due date itself is always at least yellow); else green.
//! * A clock **stopped** by the decision is read as on the day it stopped.
//!
//! Also here: the other clocks of a case, each a pure function of dates and the calendar:
//! the acceptance deadline (R-ACCEPT-5D), the issuance due date (R-ISSUE-10D) and the deemed
//! route confirmation (R-ROUTE-10MIN).

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::workdays::{OfficeClock, WorkingDays};

/// Why the clock is suspended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuspensionReason {
    /// 补正 after acceptance: the applicant must supply `items` (material codes).
    Supplement { items: Vec<String>, note: String },
    /// 特别程序 (听证、检验、专家评审…), told to the applicant as needing `days` working days;
    /// `node` is the process step it belongs to, if any.
    SpecialProcedure {
        name: String,
        days: u32,
        #[serde(default)]
        node: Option<String>,
    },
}

impl SuspensionReason {
    pub fn label(&self) -> String {
        match self {
            SuspensionReason::Supplement { .. } => "补正".to_string(),
            SuspensionReason::SpecialProcedure { name, .. } => format!("特别程序（{name}）"),
        }
    }
}

/// One entry of the suspension ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    pub id: u32,
    pub reason: SuspensionReason,
    pub from: NaiveDate,
    /// The day it ended; `None` while it lasts.
    pub until: Option<NaiveDate>,
}

impl Suspension {
    pub fn is_open(&self) -> bool {
        self.until.is_none()
    }
}

/// One approved extension (R-DECIDE-20D).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub days: u32,
    pub on: NaiveDate,
    pub reason: String,
    /// The head of the authority who approved it.
    pub approved_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    Green,
    Yellow,
    Red,
}

impl Warning {
    pub fn label(self) -> &'static str {
        match self {
            Warning::Green => "绿灯",
            Warning::Yellow => "黄灯",
            Warning::Red => "红灯",
        }
    }

    /// The light as styles and tests name it (`green`).
    pub fn code(self) -> &'static str {
        match self {
            Warning::Green => "green",
            Warning::Yellow => "yellow",
            Warning::Red => "red",
        }
    }

    /// The staff's words for the light: red says the case is overdue.
    pub fn staff_label(self) -> &'static str {
        match self {
            Warning::Red => "红灯（已超期）",
            w => w.label(),
        }
    }

    /// The applicant's plainer words for the light.
    pub fn plain_words(self) -> &'static str {
        match self {
            Warning::Green => "正常",
            Warning::Yellow => "即将到期",
            Warning::Red => "已超期",
        }
    }
}

/// What a clock shows on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    pub due_date: NaiveDate,
    pub working_days_left: i64,
    /// Limit plus extensions.
    pub budget_days: i64,
    pub used_days: i64,
    pub warning: Warning,
    /// An open suspension freezes the clock; `due_date` is then provisional.
    pub suspended: bool,
}

/// The day the count of working days after `start` reaches `budget`, skipping the working days
/// inside the suspensions (see the module docs). Open suspensions are read as ending on `today`.
/// Also used for the budget of a single step, with the case's ledger.
pub fn derive_due_date(
    calendar: &dyn WorkingDays,
    start: NaiveDate,
    budget: i64,
    suspensions: &[Suspension],
    today: NaiveDate,
) -> NaiveDate {
    due_after_pauses(
        calendar,
        start,
        budget,
        suspensions.iter().map(|s| (s.from, s.until)),
        today,
    )
}

/// The same count over any ledger of pauses `(from, until)` (a work order's, say): the working
/// days inside `(from, until]` do not count; an open pause is read as ending on `today`.
pub fn due_after_pauses(
    calendar: &dyn WorkingDays,
    start: NaiveDate,
    budget: i64,
    pauses: impl Iterator<Item = (NaiveDate, Option<NaiveDate>)>,
    today: NaiveDate,
) -> NaiveDate {
    let mut spans: Vec<(NaiveDate, NaiveDate)> = pauses
        .map(|(from, until)| {
            let from = from.max(start);
            let until = until.unwrap_or(today).max(from);
            (from, until)
        })
        .filter(|(from, until)| until > from)
        .collect();
    spans.sort();
    let mut cursor = start;
    let mut remaining = budget.max(0);
    for (from, until) in spans {
        if until <= cursor {
            continue; // inside a span already skipped
        }
        let from = from.max(cursor);
        let available = calendar.working_days_between(cursor, from);
        if available >= remaining {
            break;
        }
        remaining -= available;
        cursor = until;
    }
    calendar.add_working_days(cursor, remaining)
}

/// A view of a case's time budget.
#[derive(Debug, Clone, Copy)]
pub struct CaseClock<'a> {
    pub start: NaiveDate,
    pub limit_days: u32,
    pub suspensions: &'a [Suspension],
    pub extensions: &'a [Extension],
    /// The decision date: the clock does not run after it.
    pub stopped_on: Option<NaiveDate>,
}

impl CaseClock<'_> {
    pub fn budget_days(&self) -> i64 {
        i64::from(self.limit_days)
            + self
                .extensions
                .iter()
                .map(|e| i64::from(e.days))
                .sum::<i64>()
    }

    fn effective_today(&self, today: NaiveDate) -> NaiveDate {
        self.stopped_on.map_or(today, |s| s.min(today))
    }

    pub fn due_date(&self, calendar: &dyn WorkingDays, today: NaiveDate) -> NaiveDate {
        derive_due_date(
            calendar,
            self.start,
            self.budget_days(),
            self.suspensions,
            self.effective_today(today),
        )
    }

    pub fn is_suspended(&self) -> bool {
        self.stopped_on.is_none() && self.suspensions.iter().any(Suspension::is_open)
    }

    /// The clock on `today`; `yellow_at_percent` is the share of the budget that turns it yellow.
    pub fn reading(
        &self,
        calendar: &dyn WorkingDays,
        today: NaiveDate,
        yellow_at_percent: u8,
    ) -> ClockReading {
        let today = self.effective_today(today);
        let due_date = self.due_date(calendar, today);
        let working_days_left = calendar.working_days_between(today, due_date);
        let budget_days = self.budget_days();
        let used_days = budget_days - working_days_left;
        let warning = if working_days_left < 0 {
            Warning::Red
        } else if used_days * 100 >= i64::from(yellow_at_percent) * budget_days {
            Warning::Yellow
        } else {
            Warning::Green
        };
        ClockReading {
            due_date,
            working_days_left,
            budget_days,
            used_days,
            warning,
            suspended: self.is_suspended(),
        }
    }
}

/// R-ACCEPT-5D (law, 行政许可法 第32条): the last day on which a one-time notice may be given
/// for materials received on `received_on`: the end of the 5th working day after it.
pub const NOTICE_DAYS: i64 = 5;

pub fn notice_deadline(calendar: &dyn WorkingDays, received_on: NaiveDate) -> NaiveDate {
    calendar.add_working_days(received_on, NOTICE_DAYS)
}

/// R-ACCEPT-5D: if no one-time notice was given by the deadline, the case counts as accepted
/// from the day of receipt. Returns that acceptance date once the deadline has passed without a
/// notice (a notice given late does not undo it), `None` otherwise.
pub fn deemed_acceptance(
    calendar: &dyn WorkingDays,
    received_on: NaiveDate,
    notice_given_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let deadline = notice_deadline(calendar, received_on);
    let noticed_in_time = notice_given_on.is_some_and(|n| n <= deadline);
    (!noticed_in_time && today > deadline).then_some(received_on)
}

/// R-ISSUE-10D (law, 第44条): after the decision the result is issued and delivered within
/// 10 working days.
pub const ISSUE_DAYS: i64 = 10;

pub fn issue_due(calendar: &dyn WorkingDays, decided_on: NaiveDate) -> NaiveDate {
    calendar.add_working_days(decided_on, ISSUE_DAYS)
}

/// R-ROUTE-10MIN: the instant a routed case counts as confirmed by the department if nobody
/// confirmed it: `minutes` office minutes after it was routed (10 by default, a setting).
pub fn deemed_confirmation_at(
    office: &dyn OfficeClock,
    routed_at: NaiveDateTime,
    minutes: i64,
) -> NaiveDateTime {
    office.add_office_minutes(routed_at, minutes)
}

/// The instant at which a day-based deadline has passed: the start of the day after it.
pub fn end_of(day: NaiveDate) -> NaiveDateTime {
    day.succ_opt()
        .unwrap_or(day)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::testkit::{TestCalendar, TestOffice, d, t};

    fn supplement(id: u32, from: NaiveDate, until: Option<NaiveDate>) -> Suspension {
        Suspension {
            id,
            reason: SuspensionReason::Supplement {
                items: vec!["m1".into()],
                note: String::new(),
            },
            from,
            until,
        }
    }

    fn special(id: u32, name: &str, days: u32, from: NaiveDate, until: NaiveDate) -> Suspension {
        Suspension {
            id,
            reason: SuspensionReason::SpecialProcedure {
                name: name.into(),
                days,
                node: None,
            },
            from,
            until: Some(until),
        }
    }

    fn clock<'a>(
        start: NaiveDate,
        limit_days: u32,
        suspensions: &'a [Suspension],
        extensions: &'a [Extension],
    ) -> CaseClock<'a> {
        CaseClock {
            start,
            limit_days,
            suspensions,
            extensions,
            stopped_on: None,
        }
    }

    #[test]
    fn counting_starts_the_day_after_acceptance_across_the_2026_spring_festival_r_first_day() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Fri 02-13, limit 5. Counting starts the next day (R-FIRST-DAY):
        // Sat 02-14 is a make-up working day (1); 02-15..02-23 are the Spring Festival;
        // Tue 02-24 (2), Wed 02-25 (3), Thu 02-26 (4), Fri 02-27 (5).
        let c = clock(d(2026, 2, 13), 5, &[], &[]);
        assert_eq!(c.due_date(&cal, d(2026, 2, 13)), d(2026, 2, 27));
    }

    #[test]
    fn a_limit_crosses_new_year_2026_and_its_make_up_sunday_r_workday() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Wed 2025-12-31, limit 3: 2026-01-01..03 are off, Sun 01-04 is a make-up
        // working day (1), Mon 01-05 (2), Tue 01-06 (3).
        let c = clock(d(2025, 12, 31), 3, &[], &[]);
        assert_eq!(c.due_date(&cal, d(2025, 12, 31)), d(2026, 1, 6));
    }

    #[test]
    fn a_limit_crosses_the_2025_spring_festival_and_national_day_r_workday() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Fri 2025-01-24, limit 3: Sun 01-26 is a make-up day (1), Mon 01-27 (2),
        // 01-28..02-04 off, Wed 02-05 (3).
        assert_eq!(
            clock(d(2025, 1, 24), 3, &[], &[]).due_date(&cal, d(2025, 1, 24)),
            d(2025, 2, 5)
        );
        // Accepted Thu 2025-09-25, limit 5: Fri 09-26 (1), Sun 09-28 make-up (2), Mon 09-29 (3),
        // Tue 09-30 (4), 10-01..10-08 off, Thu 10-09 (5).
        assert_eq!(
            clock(d(2025, 9, 25), 5, &[], &[]).due_date(&cal, d(2025, 9, 25)),
            d(2025, 10, 9)
        );
    }

    #[test]
    fn a_supplement_pauses_the_clock_across_national_day_2026_r_supplement_pause() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Mon 09-21, limit 20 (R-DECIDE-20D). Without a pause: 09-22..09-24 (3),
        // 09-25..27 off (中秋), 09-28..09-30 (6), 10-01..07 off, Thu 10-08 (7), Fri 10-09 (8),
        // Sat 10-10 make-up (9), 10-12..10-16 (14), 10-19..10-23 (19), Mon 10-26 (20).
        let none = clock(d(2026, 9, 21), 20, &[], &[]);
        assert_eq!(none.due_date(&cal, d(2026, 9, 21)), d(2026, 10, 26));
        // A notice on Wed 09-23, materials received Fri 10-09: the working days in
        // (09-23, 10-09] do not count: 09-24, 09-28, 09-29, 09-30, 10-08, 10-09 = 6.
        // Counted: 09-22 (1), 09-23 (2), then Sat 10-10 (3), 10-12..16 (8), 10-19..23 (13),
        // 10-26..30 (18), Mon 11-02 (19), Tue 11-03 (20).
        let s = [supplement(0, d(2026, 9, 23), Some(d(2026, 10, 9)))];
        let paused = clock(d(2026, 9, 21), 20, &s, &[]);
        assert_eq!(paused.due_date(&cal, d(2026, 10, 9)), d(2026, 11, 3));
        let r = paused.reading(&cal, d(2026, 10, 9), 80);
        assert_eq!(r.working_days_left, 18);
        assert!(!r.suspended);
    }

    #[test]
    fn the_documented_example_of_a_suspension_holds_r_supplement_pause() {
        let cal = TestCalendar::china_2025_2026();
        let s = [supplement(0, d(2026, 3, 4), Some(d(2026, 3, 6)))];
        assert_eq!(
            clock(d(2026, 3, 2), 5, &s, &[]).due_date(&cal, d(2026, 3, 6)),
            d(2026, 3, 11)
        );
    }

    #[test]
    fn a_suspension_ended_the_day_it_began_costs_nothing_r_supplement_pause() {
        let cal = TestCalendar::china_2025_2026();
        let s = [supplement(0, d(2026, 3, 4), Some(d(2026, 3, 4)))];
        assert_eq!(
            clock(d(2026, 3, 2), 5, &s, &[]).due_date(&cal, d(2026, 3, 4)),
            d(2026, 3, 9)
        );
    }

    #[test]
    fn a_suspension_from_the_acceptance_day_shifts_every_day_of_the_limit() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted and suspended Mon 03-02, resumed Wed 03-04: 03-03 and 03-04 skipped;
        // counted 03-05, 03-06, 03-09, 03-10, 03-11.
        let s = [supplement(0, d(2026, 3, 2), Some(d(2026, 3, 4)))];
        assert_eq!(
            clock(d(2026, 3, 2), 5, &s, &[]).due_date(&cal, d(2026, 3, 4)),
            d(2026, 3, 11)
        );
    }

    #[test]
    fn an_open_suspension_freezes_the_days_left_r_supplement_pause() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Mon 03-02, limit 5, notice on Wed 03-04 still unanswered: 03-03 and 03-04
        // are used, 3 days are left whatever the day; the due date is provisional: on Fri 03-20
        // it is 3 working days later, Wed 03-25; on Mon 03-23 it is Thu 03-26.
        let s = [supplement(0, d(2026, 3, 4), None)];
        let c = clock(d(2026, 3, 2), 5, &s, &[]);
        let r = c.reading(&cal, d(2026, 3, 20), 80);
        assert_eq!(
            (r.working_days_left, r.due_date, r.suspended),
            (3, d(2026, 3, 25), true)
        );
        let r = c.reading(&cal, d(2026, 3, 23), 80);
        assert_eq!((r.working_days_left, r.due_date), (3, d(2026, 3, 26)));
        assert_eq!(r.warning, Warning::Green);
    }

    #[test]
    fn a_suspension_after_the_due_date_does_not_make_an_overdue_case_punctual() {
        let cal = TestCalendar::china_2025_2026();
        // Due Mon 03-09; a supplement from 03-11 to 03-13 comes too late to move it.
        let s = [supplement(0, d(2026, 3, 11), Some(d(2026, 3, 13)))];
        let c = clock(d(2026, 3, 2), 5, &s, &[]);
        assert_eq!(c.due_date(&cal, d(2026, 3, 16)), d(2026, 3, 9));
        assert_eq!(c.reading(&cal, d(2026, 3, 16), 80).warning, Warning::Red);
    }

    #[test]
    fn overlapping_suspensions_count_their_days_once() {
        let cal = TestCalendar::china_2025_2026();
        // (03-04, 03-06] and (03-05, 03-10]: together (03-04, 03-10] = 03-05, 03-06, 03-09,
        // 03-10. Counted: 03-03, 03-04, 03-11, 03-12, 03-13.
        let s = [
            supplement(0, d(2026, 3, 4), Some(d(2026, 3, 6))),
            special(1, "检测", 3, d(2026, 3, 5), d(2026, 3, 10)),
        ];
        assert_eq!(
            clock(d(2026, 3, 2), 5, &s, &[]).due_date(&cal, d(2026, 3, 10)),
            d(2026, 3, 13)
        );
    }

    #[test]
    fn a_special_procedure_and_an_extension_move_the_due_date_across_may_2025_r_special_time_r_decide_20d()
     {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Fri 2025-04-25, limit 20: Sun 04-27 is a make-up day (1), 04-28..04-30 (4),
        // 05-01..05 off, 05-06..09 (8), 05-12..16 (13), 05-19..23 (18), 05-26 (19), 05-27 (20).
        assert_eq!(
            clock(d(2025, 4, 25), 20, &[], &[]).due_date(&cal, d(2025, 4, 25)),
            d(2025, 5, 27)
        );
        // 专家评审 from Wed 05-14 to Tue 06-03 (R-SPECIAL-TIME). Counted up to 05-14: 11 days.
        // Skipped (05-14, 06-03]: 05-15, 05-16, 05-19..23, 05-26..30 (12), 05-31..06-02 are
        // the Dragon Boat days, 06-03 (13). The other 9: 06-04, 06-05, 06-06, 06-09..06-13,
        // Mon 06-16.
        let s = [special(0, "专家评审", 15, d(2025, 5, 14), d(2025, 6, 3))];
        assert_eq!(
            clock(d(2025, 4, 25), 20, &s, &[]).due_date(&cal, d(2025, 6, 3)),
            d(2025, 6, 16)
        );
        // The head of the authority extends by 10 on 06-10 (R-DECIDE-20D): 06-17..06-20 (4),
        // 06-23..06-27 (9), Mon 06-30 (10).
        let e = [Extension {
            days: 10,
            on: d(2025, 6, 10),
            reason: "需现场核查".into(),
            approved_by: "王局长".into(),
        }];
        let c = clock(d(2025, 4, 25), 20, &s, &e);
        assert_eq!(c.budget_days(), 30);
        assert_eq!(c.due_date(&cal, d(2025, 6, 10)), d(2025, 6, 30));
    }

    #[test]
    fn a_corrected_calendar_moves_the_due_date_r_calendar() {
        // Accepted Mon 2026-03-02, limit 5: due Mon 03-09. A region declares Thu 03-05 a local
        // day off: 03-03, 03-04, 03-06, 03-09, 03-10.
        let c = clock(d(2026, 3, 2), 5, &[], &[]);
        let official = TestCalendar::china_2025_2026();
        let corrected = TestCalendar::china_2025_2026().with_holiday(d(2026, 3, 5));
        assert_eq!(c.due_date(&official, d(2026, 3, 2)), d(2026, 3, 9));
        assert_eq!(c.due_date(&corrected, d(2026, 3, 2)), d(2026, 3, 10));
    }

    #[test]
    fn the_warning_turns_yellow_at_80_percent_and_red_once_overdue() {
        let cal = TestCalendar::china_2025_2026();
        // Accepted Mon 03-02, limit 10: 03-03..06 (4), 03-09..13 (9), Mon 03-16 (10).
        let c = clock(d(2026, 3, 2), 10, &[], &[]);
        let at = |day| c.reading(&cal, day, 80);
        // Wed 03-11: 3 left (03-12, 03-13, 03-16), 7 of 10 used.
        assert_eq!(
            (
                at(d(2026, 3, 11)).working_days_left,
                at(d(2026, 3, 11)).warning
            ),
            (3, Warning::Green)
        );
        // Thu 03-12: 8 of 10 used.
        assert_eq!(at(d(2026, 3, 12)).warning, Warning::Yellow);
        // On the due date: 0 left, still yellow; the day after: -1, red.
        assert_eq!(
            (
                at(d(2026, 3, 16)).working_days_left,
                at(d(2026, 3, 16)).warning
            ),
            (0, Warning::Yellow)
        );
        assert_eq!(
            (
                at(d(2026, 3, 17)).working_days_left,
                at(d(2026, 3, 17)).warning
            ),
            (-1, Warning::Red)
        );
        // Sat 03-21: the four working days 03-17..03-20 lie past the due date.
        assert_eq!(at(d(2026, 3, 21)).working_days_left, -4);
    }

    #[test]
    fn the_yellow_threshold_is_a_setting() {
        let cal = TestCalendar::china_2025_2026();
        let c = clock(d(2026, 3, 2), 10, &[], &[]);
        // Wed 03-11: 7 of 10 used, yellow from 70%.
        assert_eq!(c.reading(&cal, d(2026, 3, 11), 70).warning, Warning::Yellow);
    }

    #[test]
    fn a_stopped_clock_reads_as_on_the_day_of_the_decision() {
        let cal = TestCalendar::china_2025_2026();
        let mut c = clock(d(2026, 3, 2), 5, &[], &[]);
        c.stopped_on = Some(d(2026, 3, 5));
        let r = c.reading(&cal, d(2026, 4, 1), 80);
        // Decided Thu 03-05 with due Mon 03-09: 03-06 and 03-09 were left.
        assert_eq!(
            (r.due_date, r.working_days_left, r.warning),
            (d(2026, 3, 9), 2, Warning::Green)
        );
    }

    #[test]
    fn an_immediate_item_is_due_the_day_it_is_accepted() {
        let cal = TestCalendar::china_2025_2026();
        let c = clock(d(2026, 3, 2), 0, &[], &[]);
        let r = c.reading(&cal, d(2026, 3, 2), 80);
        assert_eq!((r.due_date, r.working_days_left), (d(2026, 3, 2), 0));
    }

    #[test]
    fn without_a_notice_within_5_working_days_the_case_counts_as_accepted_on_receipt_r_accept_5d() {
        let cal = TestCalendar::china_2025_2026();
        // Received Thu 2026-09-24: 09-25..27 off, 09-28 (1), 09-29 (2), 09-30 (3),
        // 10-01..07 off, 10-08 (4), Fri 10-09 (5) is the last day for a notice.
        let received = d(2026, 9, 24);
        assert_eq!(notice_deadline(&cal, received), d(2026, 10, 9));
        assert_eq!(
            deemed_acceptance(&cal, received, None, d(2026, 10, 9)),
            None
        );
        assert_eq!(
            deemed_acceptance(&cal, received, None, d(2026, 10, 10)),
            Some(received)
        );
        // A notice on the last day is in time; one a day later is not.
        assert_eq!(
            deemed_acceptance(&cal, received, Some(d(2026, 10, 9)), d(2026, 10, 20)),
            None
        );
        assert_eq!(
            deemed_acceptance(&cal, received, Some(d(2026, 10, 10)), d(2026, 10, 20)),
            Some(received)
        );
    }

    #[test]
    fn the_result_is_due_10_working_days_after_the_decision_r_issue_10d() {
        let cal = TestCalendar::china_2025_2026();
        // Decided Tue 2026-09-29: 09-30 (1), 10-08 (2), 10-09 (3), Sat 10-10 make-up (4),
        // 10-12..10-16 (9), Mon 10-19 (10).
        assert_eq!(issue_due(&cal, d(2026, 9, 29)), d(2026, 10, 19));
    }

    #[test]
    fn a_route_is_deemed_confirmed_after_10_office_minutes_r_route_10min() {
        let cal = TestCalendar::china_2025_2026();
        let office = TestOffice(&cal);
        // Inside a session.
        assert_eq!(
            deemed_confirmation_at(&office, t(2026, 3, 2, 10, 0), 10),
            t(2026, 3, 2, 10, 10)
        );
        // Across lunch: 5 minutes before 12:00, 5 after 13:30.
        assert_eq!(
            deemed_confirmation_at(&office, t(2026, 2, 13, 11, 55), 10),
            t(2026, 2, 13, 13, 35)
        );
        // Friday evening before the Spring Festival: Sat 02-14 is a make-up working day.
        assert_eq!(
            deemed_confirmation_at(&office, t(2026, 2, 13, 17, 25), 10),
            t(2026, 2, 14, 9, 5)
        );
        // The eve of National Day: the next office minute is on Thu 10-08.
        assert_eq!(
            deemed_confirmation_at(&office, t(2026, 9, 30, 17, 25), 10),
            t(2026, 10, 8, 9, 5)
        );
    }

    /// The reference: walk day by day from the start, counting the working days that lie in no
    /// suspension `(from, until]`, until the budget is reached.
    fn walk(
        cal: &TestCalendar,
        start: NaiveDate,
        budget: i64,
        spans: &[(NaiveDate, NaiveDate)],
    ) -> NaiveDate {
        let mut day = start;
        let mut counted = 0;
        while counted < budget {
            day = day.succ_opt().unwrap();
            let suspended = spans
                .iter()
                .any(|&(from, until)| from < day && day <= until);
            if cal.is_working_day(day) && !suspended {
                counted += 1;
            }
        }
        day
    }

    proptest::proptest! {
        #[test]
        fn the_derived_due_date_equals_a_day_by_day_count(
            start in 0i64..700,
            budget in 0i64..45,
            spans in proptest::collection::vec((-10i64..80, 0i64..30, proptest::bool::ANY), 0..4),
        ) {
            let cal = TestCalendar::china_2025_2026();
            let base = d(2025, 1, 1);
            let start = base + chrono::Duration::days(start);
            let today = start + chrono::Duration::days(60);
            let suspensions: Vec<Suspension> = spans
                .iter()
                .enumerate()
                .map(|(i, &(from, len, open))| {
                    let from = start + chrono::Duration::days(from);
                    supplement(i as u32, from, (!open).then(|| from + chrono::Duration::days(len)))
                })
                .collect();
            let closed: Vec<(NaiveDate, NaiveDate)> = suspensions
                .iter()
                .map(|s| (s.from, s.until.unwrap_or(today).max(s.from)))
                .collect();
            proptest::prop_assert_eq!(
                derive_due_date(&cal, start, budget, &suspensions, today),
                walk(&cal, start, budget, &closed)
            );
        }
    }
}
