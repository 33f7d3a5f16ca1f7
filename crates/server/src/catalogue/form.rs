//! The admin item form: the scalar elements as inputs, and the three lists as rows of labelled
//! inputs (`from_pairs`). Each row becomes one line with columns separated by `|` (the cell
//! formats of [`super::cells`] inside), so that a problem is told beside the row of its line:
//!
//! - 办理情形: `编码 | 问题 | 选项`, e.g. `agent | 是否委托他人办理 | yes=是;no=否`
//! - 申请材料: `编码 | 名称 | 形式 | 份数 | 载体 | 适用情形 | 空白表格 | 备注`; from 形式 on the
//!   columns may be left off (原件, 1 份, 纸质, always needed), e.g.
//!   `POA | 授权委托书 | 原件 | 1 | 纸质 | agent=yes`
//! - 特殊环节: `名称 | 所需工作日 | 是否计算在时限内`, e.g. `现场核查 | 5 | 否`

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use yichuang_domain::FieldError;
use yichuang_domain::catalogue::{
    ItemKind, ItemResult, ItemType, MaterialForm, MaterialMedium, MaterialRequirement, ServiceItem,
    Situation, SpecialProcedure,
};

use super::cells::{
    format_condition, format_options, parse_condition, parse_count, parse_label, parse_options,
    parse_yes_no, yes_no,
};

/// The form as posted (every value as text, so any input reaches the validation).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ItemForm {
    pub code: String,
    pub name: String,
    pub department: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub kind: String,
    pub statutory_limit_days: String,
    pub committed_limit_days: String,
    pub legal_basis: String,
    pub conditions: String,
    pub fee: String,
    pub on_site_visits: String,
    pub online: Option<String>,
    pub deemed_approval: Option<String>,
    pub process_description: String,
    pub location: String,
    pub consult_phone: String,
    pub result_name: String,
    pub result_material: String,
    pub result_valid_years: String,
    pub situations: String,
    pub materials: String,
    pub special_procedures: String,
    pub version: String,
}

const COLUMN_SEPARATORS: [char; 2] = ['|', '｜'];

fn columns(line: &str) -> Vec<String> {
    line.split(COLUMN_SEPARATORS)
        .map(|s| s.trim().to_string())
        .collect()
}

impl ItemForm {
    /// A new item's form: a committed item with nothing filled in.
    pub fn blank() -> Self {
        ItemForm {
            item_type: ItemType::default().label().into(),
            kind: ItemKind::Committed.label().into(),
            on_site_visits: "1".into(),
            ..ItemForm::default()
        }
    }

    pub fn from_item(item: &ServiceItem, version: i64) -> Self {
        let situations: Vec<String> = item
            .situations
            .iter()
            .map(|s| {
                format!(
                    "{} | {} | {}",
                    s.code,
                    s.question,
                    format_options(&s.options)
                )
            })
            .collect();
        let materials: Vec<String> = item
            .materials
            .iter()
            .map(|m| {
                let line = format!(
                    "{} | {} | {} | {} | {} | {} | {} | {}",
                    m.code,
                    m.name,
                    m.form.label(),
                    m.copies,
                    m.medium.label(),
                    format_condition(m.required_if.as_ref()),
                    m.template.as_deref().unwrap_or(""),
                    m.note
                );
                line.trim_end_matches([' ', '|']).to_string()
            })
            .collect();
        let procedures: Vec<String> = item
            .special_procedures
            .iter()
            .map(|p| format!("{} | {} | {}", p.name, p.days, yes_no(p.counted_in_limit)))
            .collect();
        ItemForm {
            code: item.code.clone(),
            name: item.name.clone(),
            department: item.department.clone(),
            item_type: item.item_type.label().into(),
            kind: item.kind.label().into(),
            statutory_limit_days: item.statutory_limit_days.to_string(),
            committed_limit_days: item.committed_limit_days.to_string(),
            legal_basis: item.legal_basis.clone(),
            conditions: item.conditions.clone(),
            fee: item.fee.clone(),
            on_site_visits: item.on_site_visits.to_string(),
            online: item.online.then(|| "on".into()),
            deemed_approval: item.deemed_approval.then(|| "on".into()),
            process_description: item.process_description.clone(),
            location: item.location.clone(),
            consult_phone: item.consult_phone.clone(),
            result_name: item.result.name.clone(),
            result_material: item.result.material.clone(),
            result_valid_years: item.result.valid_years.to_string(),
            situations: situations.join("\n"),
            materials: materials.join("\n"),
            special_procedures: procedures.join("\n"),
            version: version.to_string(),
        }
    }

    /// The item the form describes, the form problems found reading it (by form field), and
    /// which textarea line each list entry came from.
    pub fn to_item(&self) -> (ServiceItem, Lines, Vec<FieldError>) {
        let mut p = FormProblems::default();
        let mut lines = Lines::default();
        let count = |field: &str, s: &str, p: &mut FormProblems| {
            parse_count(s).unwrap_or_else(|m| {
                p.add(field, None, m);
                0
            })
        };
        let statutory = count("statutory_limit_days", &self.statutory_limit_days, &mut p);
        let committed = count("committed_limit_days", &self.committed_limit_days, &mut p);
        let visits = if self.on_site_visits.trim().is_empty() {
            0
        } else {
            count("on_site_visits", &self.on_site_visits, &mut p)
        };
        let valid_years = if self.result_valid_years.trim().is_empty() {
            0
        } else {
            count("result.valid_years", &self.result_valid_years, &mut p)
        };
        let item_type = parse_label(&self.item_type, &ItemType::ALL, ItemType::label)
            .unwrap_or_else(|m| {
                p.add("type", None, m);
                ItemType::default()
            });
        let kind = parse_label(&self.kind, &ItemKind::ALL, ItemKind::label).unwrap_or_else(|m| {
            p.add("kind", None, m);
            ItemKind::Committed
        });
        let item = ServiceItem {
            code: self.code.trim().to_string(),
            name: self.name.trim().to_string(),
            department: self.department.trim().to_string(),
            item_type,
            kind,
            statutory_limit_days: statutory,
            committed_limit_days: committed,
            legal_basis: self.legal_basis.trim().to_string(),
            conditions: self.conditions.trim().to_string(),
            fee: self.fee.trim().to_string(),
            on_site_visits: visits,
            online: self.online.is_some(),
            deemed_approval: self.deemed_approval.is_some(),
            special_procedures: entries(
                &self.special_procedures,
                "special_procedures",
                &mut lines,
                &mut p,
                procedure,
            ),
            situations: entries(
                &self.situations,
                "situations",
                &mut lines,
                &mut p,
                situation,
            ),
            materials: entries(&self.materials, "materials", &mut lines, &mut p, material),
            process_description: self.process_description.trim().to_string(),
            consult_phone: self.consult_phone.trim().to_string(),
            location: self.location.trim().to_string(),
            result: ItemResult {
                name: self.result_name.trim().to_string(),
                material: self.result_material.trim().to_string(),
                valid_years,
            },
        };
        (item, lines, p.0)
    }
}

/// One 办理情形 as a row of the form (issue 10 item 3): labelled inputs instead of a line.
#[derive(Debug, Clone, Default)]
pub struct SituationRow {
    pub code: String,
    pub question: String,
    /// 是;否 — or `code=名称` pairs kept from an earlier version.
    pub options: String,
    pub errors: Vec<String>,
}

/// One 特殊环节 as a row of the form.
#[derive(Debug, Clone, Default)]
pub struct ProcedureRow {
    pub name: String,
    pub days: String,
    /// 是 or 否: whether its days count in the item's limit.
    pub counted: String,
    pub errors: Vec<String>,
}

/// One material as a row of the form.
#[derive(Debug, Clone, Default)]
pub struct MaterialRow {
    pub code: String,
    pub name: String,
    pub form: String,
    pub copies: String,
    pub medium: String,
    /// `情形编码=选项编码`, chosen from the situations by name; empty: always needed.
    pub required_if: String,
    pub template: String,
    pub note: String,
    pub errors: Vec<String>,
}

/// A choice of the materials' 适用情形 select: the value the line carries and its words.
#[derive(Debug, Clone)]
pub struct ConditionChoice {
    pub value: String,
    pub label: String,
}

/// The values of one repeated field of the posted rows, in order.
fn column_of<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .collect()
}

/// A cell of a row as a line carries it: no column separator inside.
fn cell(s: &str) -> String {
    s.trim().replace(COLUMN_SEPARATORS, "／")
}

impl ItemForm {
    /// The form as posted: the scalar fields, and the situations, materials and special
    /// procedures from their rows (`s_code`, `s_question`, `s_options`; `m_code`, `m_name`, …;
    /// `p_name`, `p_days`, `p_counted`, repeated once per row) when the form sent rows (`rows=1`), each row becoming the line of its number so
    /// that a problem is told beside its row. A row left blank is skipped.
    pub fn from_pairs<'a>(pairs: &'a [(String, String)]) -> Self {
        let fields: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .filter(|(k, _)| !k.starts_with("s_") && !k.starts_with("m_") && !k.starts_with("p_"))
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let mut form: ItemForm =
            serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or_default();
        if !pairs.iter().any(|(k, v)| k == "rows" && v == "1") {
            return form;
        }
        let (codes, questions, options) = (
            column_of(pairs, "s_code"),
            column_of(pairs, "s_question"),
            column_of(pairs, "s_options"),
        );
        form.situations = (0..questions.len())
            .map(|i| {
                fn at<'a>(c: &[&'a str], i: usize) -> &'a str {
                    c.get(i).copied().unwrap_or("")
                }
                let get = |c: &Vec<&'a str>| at(c, i);
                if [get(&codes), get(&questions), get(&options)]
                    .iter()
                    .all(|v| v.is_empty())
                {
                    return String::new();
                }
                let code = match get(&codes) {
                    "" => format!("S{}", i + 1),
                    c => cell(c),
                };
                // 是;否: each option's name is its code unless a code is written (code=名称).
                let opts: Vec<String> = get(&options)
                    .split([';', '；', '、', ',', '，'])
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|o| {
                        if o.contains('=') {
                            cell(o)
                        } else {
                            format!("{0}={0}", cell(o))
                        }
                    })
                    .collect();
                format!("{code} | {} | {}", cell(get(&questions)), opts.join(";"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let cols: Vec<Vec<&str>> = [
            "m_code",
            "m_name",
            "m_form",
            "m_copies",
            "m_medium",
            "m_required_if",
            "m_template",
            "m_note",
        ]
        .iter()
        .map(|k| column_of(pairs, k))
        .collect();
        form.materials = (0..cols[1].len())
            .map(|i| {
                let get = |c: usize| cols[c].get(i).copied().unwrap_or("");
                if get(0).is_empty() && get(1).is_empty() && get(6).is_empty() && get(7).is_empty()
                {
                    return String::new();
                }
                let code = match get(0) {
                    "" => format!("M{}", i + 1),
                    c => cell(c),
                };
                let line = format!(
                    "{code} | {} | {} | {} | {} | {} | {} | {}",
                    cell(get(1)),
                    cell(get(2)),
                    cell(get(3)),
                    cell(get(4)),
                    cell(get(5)),
                    cell(get(6)),
                    cell(get(7)),
                );
                line.trim_end_matches([' ', '|']).to_string()
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (names, days, counted) = (
            column_of(pairs, "p_name"),
            column_of(pairs, "p_days"),
            column_of(pairs, "p_counted"),
        );
        form.special_procedures = (0..names.len())
            .map(|i| {
                let get = |c: &[&str]| c.get(i).copied().unwrap_or("").to_string();
                if get(&names).is_empty() && get(&days).is_empty() {
                    return String::new();
                }
                format!(
                    "{} | {} | {}",
                    cell(&get(&names)),
                    cell(&get(&days)),
                    cell(&get(&counted))
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        form
    }

    /// The special procedures as rows, each with the problems of its line.
    pub fn procedure_rows(&self, errors: &FieldErrors) -> Vec<ProcedureRow> {
        self.special_procedures
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let c = columns(line);
                let col = |n: usize| c.get(n).cloned().unwrap_or_default();
                ProcedureRow {
                    name: col(0),
                    days: col(1),
                    counted: if col(2) == yes_no(true) {
                        yes_no(true).into()
                    } else {
                        yes_no(false).into()
                    },
                    errors: errors.of_row("special_procedures", i + 1),
                }
            })
            .collect()
    }

    /// The situations as rows, each with the problems of its line.
    pub fn situation_rows(&self, errors: &FieldErrors) -> Vec<SituationRow> {
        self.situations
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let c = columns(line);
                let col = |n: usize| c.get(n).cloned().unwrap_or_default();
                // Options whose code is their name are shown by name only.
                let options = col(2)
                    .split(';')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|o| match o.split_once('=') {
                        Some((code, label)) if code.trim() == label.trim() => label.trim().into(),
                        _ => o.to_string(),
                    })
                    .collect::<Vec<String>>()
                    .join("；");
                SituationRow {
                    code: col(0),
                    question: col(1),
                    options,
                    errors: errors.of_row("situations", i + 1),
                }
            })
            .collect()
    }

    /// The materials as rows, each with the problems of its line.
    pub fn material_rows(&self, errors: &FieldErrors) -> Vec<MaterialRow> {
        self.materials
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let c = columns(line);
                let col = |n: usize| c.get(n).cloned().unwrap_or_default();
                let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
                MaterialRow {
                    code: col(0),
                    name: col(1),
                    form: or(col(2), MaterialForm::default().label()),
                    copies: or(col(3), "1"),
                    medium: or(col(4), MaterialMedium::default().label()),
                    required_if: col(5),
                    template: col(6),
                    note: col(7),
                    errors: errors.of_row("materials", i + 1),
                }
            })
            .collect()
    }

    /// What a material may be required for: each option of each situation, by name
    /// (是否委托他人办理：是), plus a condition kept from the data that names several options.
    pub fn condition_choices(&self) -> Vec<ConditionChoice> {
        let mut out = Vec::new();
        for line in self.situations.lines() {
            let Ok(s) = situation(&columns(line)) else {
                continue;
            };
            for o in &s.options {
                out.push(ConditionChoice {
                    value: format!("{}={}", s.code, o.code),
                    label: format!("{}：{}", s.question, o.label),
                });
            }
        }
        for line in self.materials.lines() {
            let c = columns(line);
            if let Some(v) = c.get(5).filter(|v| !v.is_empty())
                && !out.iter().any(|o| &o.value == v)
            {
                out.push(ConditionChoice {
                    value: v.clone(),
                    label: v.clone(),
                });
            }
        }
        out
    }
}

pub fn material_forms() -> Vec<&'static str> {
    MaterialForm::ALL.iter().map(|f| f.label()).collect()
}

pub fn material_media() -> Vec<&'static str> {
    MaterialMedium::ALL.iter().map(|m| m.label()).collect()
}

/// The textarea line (1-based) of each list entry, per list.
#[derive(Debug, Default)]
pub struct Lines(HashMap<&'static str, Vec<usize>>);

#[derive(Default)]
struct FormProblems(Vec<FieldError>);

impl FormProblems {
    fn add(&mut self, field: &str, line: Option<usize>, message: String) {
        let message = match line {
            Some(n) => format!("第 {n} 行：{message}"),
            None => message,
        };
        self.0.push(FieldError {
            field: field.to_string(),
            message,
        });
    }
}

fn entries<T>(
    text: &str,
    field: &'static str,
    lines: &mut Lines,
    p: &mut FormProblems,
    parse: fn(&[String]) -> Result<T, String>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse(&columns(line)) {
            Ok(v) => {
                out.push(v);
                lines.0.entry(field).or_default().push(i + 1);
            }
            Err(m) => p.add(field, Some(i + 1), m),
        }
    }
    out
}

fn situation(cols: &[String]) -> Result<Situation, String> {
    match cols {
        [code, question, options] => Ok(Situation {
            code: code.clone(),
            question: question.clone(),
            options: parse_options(options)?,
        }),
        _ => Err("应为「编码 | 问题 | 选项」三列".into()),
    }
}

fn material(cols: &[String]) -> Result<MaterialRequirement, String> {
    if cols.len() < 2 || cols.len() > 8 {
        return Err(
            "应为「编码 | 名称 | 形式 | 份数 | 载体 | 适用情形 | 空白表格 | 备注」，至少前两列"
                .into(),
        );
    }
    let col = |i: usize| cols.get(i).map(String::as_str).unwrap_or("");
    let or_default = |s: &str, d: &'static str| if s.is_empty() { d } else { s }.to_string();
    Ok(MaterialRequirement {
        code: col(0).into(),
        name: col(1).into(),
        form: parse_label(
            &or_default(col(2), MaterialForm::default().label()),
            &MaterialForm::ALL,
            MaterialForm::label,
        )?,
        copies: parse_count(&or_default(col(3), "1")).map_err(|m| format!("份数：{m}"))?,
        medium: parse_label(
            &or_default(col(4), MaterialMedium::default().label()),
            &MaterialMedium::ALL,
            MaterialMedium::label,
        )?,
        required_if: parse_condition(col(5))?,
        template: Some(col(6).to_string()).filter(|s| !s.is_empty()),
        note: col(7).into(),
    })
}

fn procedure(cols: &[String]) -> Result<SpecialProcedure, String> {
    match cols {
        [name, days] | [name, days, _] => Ok(SpecialProcedure {
            name: name.clone(),
            days: parse_count(days)?,
            counted_in_limit: parse_yes_no(cols.get(2).map_or("", |s| s.as_str()))?,
        }),
        _ => Err("应为「名称 | 所需工作日 | 是否计算在时限内」".into()),
    }
}

/// Messages per form field, to show next to each input.
#[derive(Debug, Default)]
pub struct FieldErrors(HashMap<String, Vec<String>>);

impl FieldErrors {
    pub fn of(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems of row `n` (1-based) of a list, without the row number.
    pub fn of_row(&self, field: &str, n: usize) -> Vec<String> {
        let prefix = format!("第 {n} 行：");
        self.of(field)
            .iter()
            .filter_map(|m| m.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    /// The problems of a list that belong to no row.
    pub fn of_list(&self, field: &str) -> Vec<String> {
        self.of(field)
            .iter()
            .filter(|m| !m.starts_with('第'))
            .cloned()
            .collect()
    }

    pub fn count(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Files the form's own problems, then the validation's, which name JSON paths
    /// (`materials[2].required_if.answers`): a list entry's problem goes to its textarea with
    /// the line number, unless that line already has a form problem.
    pub fn collect(form: Vec<FieldError>, validation: Vec<FieldError>, lines: &Lines) -> Self {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let mut bad_lines: HashSet<(String, String)> = HashSet::new();
        for f in form {
            if let Some(prefix) = f.message.split('：').next().filter(|p| p.starts_with('第')) {
                bad_lines.insert((f.field.clone(), prefix.to_string()));
            }
            out.entry(f.field).or_default().push(f.message);
        }
        for f in validation {
            let (field, message) = match list_entry(&f.field) {
                Some((list, index)) => {
                    let line = lines.0.get(list).and_then(|l| l.get(index)).copied();
                    match line {
                        Some(n) => {
                            let prefix = format!("第 {n} 行");
                            if bad_lines.contains(&(list.to_string(), prefix.clone())) {
                                continue;
                            }
                            (list.to_string(), format!("{prefix}：{}", f.message))
                        }
                        None => (list.to_string(), f.message),
                    }
                }
                None => (f.field, f.message),
            };
            out.entry(field).or_default().push(message);
        }
        FieldErrors(out)
    }
}

/// `materials[2].code` → ("materials", 2).
fn list_entry(path: &str) -> Option<(&'static str, usize)> {
    for list in ["situations", "materials", "special_procedures"] {
        if let Some(rest) = path.strip_prefix(list).and_then(|r| r.strip_prefix('[')) {
            let index = rest.split(']').next()?.parse().ok()?;
            return Some((list, index));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use yichuang_domain::catalogue::fixtures::sample_item;

    use super::*;

    #[test]
    fn an_item_survives_the_form_unchanged() {
        let item = sample_item();
        let form = ItemForm::from_item(&item, 3);
        assert_eq!(form.version, "3");
        let (back, _, problems) = form.to_item();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(back, item);
    }

    #[test]
    fn form_problems_name_the_field_and_the_line() {
        let form = ItemForm {
            statutory_limit_days: "十五".into(),
            committed_limit_days: "3".into(),
            kind: "承诺件".into(),
            item_type: "行政许可".into(),
            materials: "ID | 身份证\n\nX | 某材料 | 扫描件\nY".into(),
            situations: "agent | 是否委托 | yes".into(),
            ..ItemForm::default()
        };
        let (item, lines, problems) = form.to_item();
        assert_eq!(item.materials.len(), 1);
        let shown: Vec<(&str, &str)> = problems
            .iter()
            .map(|f| (f.field.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(shown[0].0, "statutory_limit_days");
        assert!(
            shown
                .iter()
                .any(|(f, m)| *f == "materials" && m.starts_with("第 3 行"))
        );
        assert!(
            shown
                .iter()
                .any(|(f, m)| *f == "materials" && m.starts_with("第 4 行"))
        );
        assert!(
            shown
                .iter()
                .any(|(f, m)| *f == "situations" && m.starts_with("第 1 行"))
        );
        assert_eq!(lines.0["materials"], [1]);
    }

    #[test]
    fn validation_problems_of_list_entries_point_at_their_lines() {
        let mut lines = Lines::default();
        lines.0.insert("materials", vec![1, 3, 4]);
        let validation = vec![
            FieldError {
                field: "materials[2].copies".into(),
                message: "份数至少为 1".into(),
            },
            FieldError {
                field: "name".into(),
                message: "事项名称不能为空".into(),
            },
        ];
        let e = FieldErrors::collect(vec![], validation, &lines);
        assert_eq!(e.of("materials"), ["第 4 行：份数至少为 1"]);
        assert_eq!(e.of("name"), ["事项名称不能为空"]);
        assert!(e.of("code").is_empty());
    }
}
