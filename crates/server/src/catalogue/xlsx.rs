//! The whole catalogue as one .xlsx workbook: a 填写说明 sheet, then one sheet per kind of row
//! with Chinese names and headers. Columns are found by their header, so their order may change;
//! a header the importer does not know is an error (a typo must not silently drop a column).
//! List-valued cells use the formats of [`super::cells`].
//!
//! Reading collects every problem with its cell (`事项!C5`); the domain's validation errors,
//! which name JSON paths (`items[3].committed_limit_days`), are mapped back to the cell the
//! value came from with [`Parsed::locate`].

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use yichuang_domain::catalogue::{
    Bundle, BundleItem, Catalogue, Department, ItemKind, ItemResult, ItemType, MaterialForm,
    MaterialMedium, MaterialRequirement, Region, RegionLevel, ServiceItem, SharedMaterial,
    Situation, SpecialProcedure,
};
use yichuang_domain::{Error, FieldError, Result};

use super::cells::{
    format_condition, format_covers, format_options, join_list, parse_condition, parse_count,
    parse_covers, parse_label, parse_options, parse_yes_no, split_list, yes_no,
};

struct Column {
    header: &'static str,
    /// The JSON field the column fills (for mapping validation errors back to cells).
    field: &'static str,
    /// Whether a file must have this column (the others default when absent).
    required: bool,
}

const fn req(header: &'static str, field: &'static str) -> Column {
    Column {
        header,
        field,
        required: true,
    }
}

const fn opt(header: &'static str, field: &'static str) -> Column {
    Column {
        header,
        field,
        required: false,
    }
}

struct Sheet {
    name: &'static str,
    columns: &'static [Column],
}

const REGIONS: Sheet = Sheet {
    name: "区域",
    columns: &[
        req("编码", "code"),
        req("名称", "name"),
        opt("上级编码", "parent"),
        req("层级", "level"),
    ],
};
const DEPARTMENTS: Sheet = Sheet {
    name: "部门",
    columns: &[
        req("编码", "code"),
        req("名称", "name"),
        opt("所属区域", "region"),
    ],
};
const ITEMS: Sheet = Sheet {
    name: "事项",
    columns: &[
        req("编码", "code"),
        req("名称", "name"),
        req("实施部门", "department"),
        opt("事项类型", "type"),
        req("办件类型", "kind"),
        req("法定办结时限（工作日）", "statutory_limit_days"),
        req("承诺办结时限（工作日）", "committed_limit_days"),
        opt("设定依据", "legal_basis"),
        opt("受理条件", "conditions"),
        opt("收费标准", "fee"),
        opt("到现场次数", "on_site_visits"),
        opt("是否网办", "online"),
        opt("超时默认", "deemed_approval"),
        opt("办理流程", "process_description"),
        opt("办理地点", "location"),
        opt("咨询电话", "consult_phone"),
        opt("结果名称", "result.name"),
        opt("结果对应材料编码", "result.material"),
        opt("结果有效期（年，0为长期）", "result.valid_years"),
    ],
};
const SITUATIONS: Sheet = Sheet {
    name: "办理情形",
    columns: &[
        req("事项编码", "item"),
        req("情形编码", "code"),
        req("问题", "question"),
        req("选项", "options"),
    ],
};
const MATERIALS: Sheet = Sheet {
    name: "申请材料",
    columns: &[
        req("事项编码", "item"),
        req("材料编码", "code"),
        req("材料名称", "name"),
        opt("材料形式", "form"),
        opt("份数", "copies"),
        opt("载体", "medium"),
        opt("适用情形", "required_if"),
        opt("空白表格", "template"),
        opt("备注", "note"),
    ],
};
const PROCEDURES: Sheet = Sheet {
    name: "特殊环节",
    columns: &[
        req("事项编码", "item"),
        req("环节名称", "name"),
        req("所需时限（工作日）", "days"),
        opt("是否计算在时限内", "counted_in_limit"),
    ],
};
const BUNDLES: Sheet = Sheet {
    name: "一件事",
    columns: &[
        req("编码", "code"),
        req("名称", "name"),
        opt("说明", "description"),
    ],
};
const BUNDLE_ITEMS: Sheet = Sheet {
    name: "一件事事项",
    columns: &[
        req("一件事编码", "bundle"),
        req("事项编码", "item"),
        opt("前置事项", "after"),
    ],
};
const SHARED: Sheet = Sheet {
    name: "共享材料",
    columns: &[
        req("一件事编码", "bundle"),
        req("材料编码", "code"),
        req("材料名称", "name"),
        req("涵盖材料", "covers"),
    ],
};

/// In the order they are written and read (a sheet refers only to sheets before it).
const SHEETS: [&Sheet; 9] = [
    &REGIONS,
    &DEPARTMENTS,
    &ITEMS,
    &SITUATIONS,
    &MATERIALS,
    &PROCEDURES,
    &BUNDLES,
    &BUNDLE_ITEMS,
    &SHARED,
];

const GUIDE_SHEET: &str = "填写说明";

const GUIDE: &[(&str, &str)] = &[
    (
        "工作表",
        "区域、部门、事项、办理情形、申请材料、特殊环节、一件事、一件事事项、共享材料；不需要的表可以删去，本说明表导入时忽略",
    ),
    ("第一行", "列名；列的顺序可以调整，列名须与模板一致"),
    (
        "编码",
        "不超过 64 个字符，不含空格及 / \\ ? # % & = ; : 等符号",
    ),
    ("列表", "多个值以英文分号 ; 分隔（也可用中文分号或换行）"),
    ("选项", "选项编码=选项名称，例如 yes=是;no=否"),
    (
        "适用情形",
        "情形编码=选项编码，多个选项以 ; 分隔，例如 agent=yes；留空表示始终需要",
    ),
    (
        "涵盖材料",
        "事项编码:材料编码，多个以 ; 分隔，例如 SCJG-001:ID;SW-001:ID",
    ),
    (
        "前置事项",
        "须先办结的本一件事内事项编码，多个以 ; 分隔；留空表示可并联办理",
    ),
    ("是/否", "填 是 或 否"),
    ("材料形式", "原件、复印件、原件及复印件"),
    ("载体", "纸质、电子、纸质或电子"),
    ("办件类型", "即办件（承诺时限填 0）、承诺件"),
    (
        "事项类型",
        "行政许可、行政确认、行政给付、行政奖励、行政裁决、行政备案、其他行政权力、公共服务",
    ),
    ("层级", "省、市、县（区）、乡镇（街道）、村（社区）"),
    (
        "导入",
        "整份文件一次导入：有任何错误则全部不导入，并逐一列出出错的工作表、行和列；按编码更新已有记录，内容相同的记录不变",
    ),
];

enum Cell {
    Text(String),
    Number(u32),
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt_text(s: &Option<String>) -> Cell {
    Cell::Text(s.clone().unwrap_or_default())
}

/// The catalogue as an .xlsx file.
pub fn write(c: &Catalogue) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let guide = wb.add_worksheet();
    guide.set_name(GUIDE_SHEET).map_err(Error::internal)?;
    guide.set_column_width(0, 14).map_err(Error::internal)?;
    guide.set_column_width(1, 100).map_err(Error::internal)?;
    for (r, (k, v)) in GUIDE.iter().enumerate() {
        let r = r as u32;
        guide
            .write_string_with_format(r, 0, *k, &bold)
            .map_err(Error::internal)?;
        guide.write_string(r, 1, *v).map_err(Error::internal)?;
    }

    let rows = |sheet: &Sheet| -> Vec<Vec<Cell>> {
        match sheet.name {
            "区域" => c.regions.iter().map(region_row).collect(),
            "部门" => c.departments.iter().map(department_row).collect(),
            "事项" => c.items.iter().map(item_row).collect(),
            "办理情形" => children(&c.items, |i| &i.situations, situation_row),
            "申请材料" => children(&c.items, |i| &i.materials, material_row),
            "特殊环节" => children(&c.items, |i| &i.special_procedures, procedure_row),
            "一件事" => c.bundles.iter().map(bundle_row).collect(),
            "一件事事项" => bundle_children(&c.bundles, |b| &b.items, bundle_item_row),
            _ => bundle_children(&c.bundles, |b| &b.shared_materials, shared_row),
        }
    };
    for sheet in SHEETS {
        let ws = wb.add_worksheet();
        write_sheet(ws, sheet, rows(sheet), &bold)?;
    }
    wb.save_to_buffer().map_err(Error::internal)
}

fn write_sheet(
    ws: &mut Worksheet,
    sheet: &Sheet,
    rows: Vec<Vec<Cell>>,
    bold: &Format,
) -> Result<()> {
    ws.set_name(sheet.name).map_err(Error::internal)?;
    for (c, col) in sheet.columns.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, col.header, bold)
            .map_err(Error::internal)?;
        let width = if col.header.chars().count() > 6 {
            24
        } else {
            16
        };
        ws.set_column_width(c, width).map_err(Error::internal)?;
    }
    ws.set_freeze_panes(1, 0).map_err(Error::internal)?;
    for (r, row) in rows.into_iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) if s.is_empty() => {}
                Cell::Text(s) => {
                    ws.write_string(r, c, s).map_err(Error::internal)?;
                }
                Cell::Number(n) => {
                    ws.write_number(r, c, f64::from(n))
                        .map_err(Error::internal)?;
                }
            }
        }
    }
    Ok(())
}

fn children<T>(
    items: &[ServiceItem],
    list: impl Fn(&ServiceItem) -> &Vec<T>,
    row: fn(&str, &T) -> Vec<Cell>,
) -> Vec<Vec<Cell>> {
    items
        .iter()
        .flat_map(|i| list(i).iter().map(|x| row(&i.code, x)))
        .collect()
}

fn bundle_children<T>(
    bundles: &[Bundle],
    list: impl Fn(&Bundle) -> &Vec<T>,
    row: fn(&str, &T) -> Vec<Cell>,
) -> Vec<Vec<Cell>> {
    bundles
        .iter()
        .flat_map(|b| list(b).iter().map(|x| row(&b.code, x)))
        .collect()
}

fn region_row(r: &Region) -> Vec<Cell> {
    vec![
        text(&r.code),
        text(&r.name),
        opt_text(&r.parent),
        text(r.level.label()),
    ]
}

fn department_row(d: &Department) -> Vec<Cell> {
    vec![text(&d.code), text(&d.name), opt_text(&d.region)]
}

fn item_row(i: &ServiceItem) -> Vec<Cell> {
    vec![
        text(&i.code),
        text(&i.name),
        text(&i.department),
        text(i.item_type.label()),
        text(i.kind.label()),
        Cell::Number(i.statutory_limit_days),
        Cell::Number(i.committed_limit_days),
        text(&i.legal_basis),
        text(&i.conditions),
        text(&i.fee),
        Cell::Number(i.on_site_visits),
        text(yes_no(i.online)),
        text(yes_no(i.deemed_approval)),
        text(&i.process_description),
        text(&i.location),
        text(&i.consult_phone),
        text(&i.result.name),
        text(&i.result.material),
        Cell::Number(i.result.valid_years),
    ]
}

fn situation_row(item: &str, s: &Situation) -> Vec<Cell> {
    vec![
        text(item),
        text(&s.code),
        text(&s.question),
        text(format_options(&s.options)),
    ]
}

fn material_row(item: &str, m: &MaterialRequirement) -> Vec<Cell> {
    vec![
        text(item),
        text(&m.code),
        text(&m.name),
        text(m.form.label()),
        Cell::Number(m.copies),
        text(m.medium.label()),
        text(format_condition(m.required_if.as_ref())),
        opt_text(&m.template),
        text(&m.note),
    ]
}

fn procedure_row(item: &str, p: &SpecialProcedure) -> Vec<Cell> {
    vec![
        text(item),
        text(&p.name),
        Cell::Number(p.days),
        text(yes_no(p.counted_in_limit)),
    ]
}

fn bundle_row(b: &Bundle) -> Vec<Cell> {
    vec![text(&b.code), text(&b.name), text(&b.description)]
}

fn bundle_item_row(bundle: &str, m: &BundleItem) -> Vec<Cell> {
    vec![text(bundle), text(&m.item), text(join_list(&m.after))]
}

fn shared_row(bundle: &str, s: &SharedMaterial) -> Vec<Cell> {
    vec![
        text(bundle),
        text(&s.code),
        text(&s.name),
        text(format_covers(&s.covers)),
    ]
}

/// A workbook read into a catalogue, with the problems found on the way and where each JSON
/// path came from.
pub struct Parsed {
    pub catalogue: Catalogue,
    pub problems: Vec<FieldError>,
    /// JSON path → cell (`事项!C5`); `None` for a column the file lacks (already reported).
    locations: HashMap<String, Option<String>>,
    /// Rows with a reading problem: validation errors located there would only echo it.
    tainted: HashSet<(String, u32)>,
}

impl Parsed {
    /// The cell a domain validation field refers to: the longest known prefix of its path.
    fn cell_of(&self, path: &str) -> Option<Option<&str>> {
        let mut p = path;
        loop {
            if let Some(loc) = self.locations.get(p) {
                return Some(loc.as_deref());
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Rewrites a validation error's fields from JSON paths to cells, drops those that only
    /// repeat a reading problem, adds the reading problems, and sorts them by sheet, row and
    /// column. Other errors (e.g. a database failure) pass through unchanged.
    pub fn locate(&self, e: Option<Error>) -> Error {
        let mut fields = self.problems.clone();
        if let Some(e) = e {
            if e.code != "validation_failed" {
                return e;
            }
            for f in e.fields {
                match self.cell_of(&f.field) {
                    Some(None) => {}
                    Some(Some(cell)) => {
                        let (sheet, row, _) = split_cell(cell);
                        if !self.tainted.contains(&(sheet.to_string(), row)) {
                            fields.push(FieldError {
                                field: cell.to_string(),
                                message: f.message,
                            });
                        }
                    }
                    None => fields.push(f),
                }
            }
        }
        fields.sort_by_key(|f| {
            let (sheet, row, col) = split_cell(&f.field);
            let order = SHEETS
                .iter()
                .position(|s| s.name == sheet)
                .unwrap_or(SHEETS.len());
            (order, row, col.len(), col.to_string())
        });
        fields.dedup();
        let mut err = Error::invalid(
            "catalogue_import_failed",
            format!(
                "文件中有 {} 处错误，未导入任何内容，请修改后重新导入",
                fields.len()
            ),
        );
        err.fields = fields;
        err
    }
}

/// `事项!C5` → ("事项", 5, "C"); `事项!1:1` → ("事项", 1, "").
fn split_cell(cell: &str) -> (&str, u32, &str) {
    let (sheet, r) = cell.split_once('!').unwrap_or((cell, ""));
    let r = r.split(':').next().unwrap_or("");
    let digits = r.find(|c: char| c.is_ascii_digit()).unwrap_or(r.len());
    let (col, row) = r.split_at(digits);
    (sheet, row.parse().unwrap_or(0), col)
}

/// The A1-style name of a 0-based column.
fn column_letters(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// One sheet of the file: its columns by field, and its cells.
struct SheetData {
    sheet: &'static Sheet,
    columns: HashMap<&'static str, u32>,
    range: Range<Data>,
}

impl SheetData {
    fn rows(&self) -> impl Iterator<Item = u32> + '_ {
        let last = self.range.end().map_or(0, |(r, _)| r);
        (1..=last).filter(|r| {
            self.columns
                .values()
                .any(|c| !matches!(self.range.get_value((*r, *c)), None | Some(Data::Empty)))
        })
    }
}

/// Reads the cells of one row, recording problems and where each JSON path came from.
struct RowReader<'a> {
    data: &'a SheetData,
    row: u32,
    out: &'a mut Parsed,
}

impl<'a> RowReader<'a> {
    fn new(data: &'a SheetData, row: u32, out: &'a mut Parsed) -> Self {
        RowReader { data, row, out }
    }

    /// Records this row as the source of everything under the JSON path `at`.
    fn source_of(&mut self, at: &str) {
        let here = self.cell_ref_at(0);
        self.out.locations.insert(at.to_string(), Some(here));
        for col in self.data.sheet.columns {
            let loc = self
                .data
                .columns
                .get(col.field)
                .map(|c| self.cell_ref_at(*c));
            self.out
                .locations
                .insert(format!("{at}.{}", col.field), loc);
        }
    }

    fn cell_ref_at(&self, c: u32) -> String {
        format!(
            "{}!{}{}",
            self.data.sheet.name,
            column_letters(c),
            self.row + 1
        )
    }

    fn cell_ref(&self, field: &str) -> String {
        self.cell_ref_at(self.data.columns.get(field).copied().unwrap_or(0))
    }

    fn problem(&mut self, field: &str, message: String) {
        let cell = self.cell_ref(field);
        self.out
            .tainted
            .insert((self.data.sheet.name.to_string(), self.row + 1));
        self.out.problems.push(FieldError {
            field: cell,
            message,
        });
    }

    /// The cell as text: numbers typed into a text column (a region code like 330100) read as
    /// the digits, not as `330100.0`.
    fn raw(&self, field: &str) -> String {
        let Some(c) = self.data.columns.get(field) else {
            return String::new();
        };
        match self.data.range.get_value((self.row, *c)) {
            None | Some(Data::Empty) => String::new(),
            Some(Data::String(s)) => s.clone(),
            Some(Data::Float(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Some(Data::Float(f)) => f.to_string(),
            Some(Data::Int(i)) => i.to_string(),
            Some(Data::Bool(b)) => yes_no(*b).to_string(),
            Some(other) => other.to_string(),
        }
    }

    fn text(&self, field: &str) -> String {
        self.raw(field)
    }

    /// Codes never contain spaces, so stray ones around them are dropped.
    fn code(&self, field: &str) -> String {
        self.raw(field).trim().to_string()
    }

    fn optional(&self, field: &str) -> Option<String> {
        let s = self.code(field);
        (!s.is_empty()).then_some(s)
    }

    /// Converts the cell with `parse`; a problem is recorded and `fallback` used when it fails.
    /// A column the file lacks gives `absent` (the header problem covers a required one).
    fn parse<T>(
        &mut self,
        field: &str,
        absent: T,
        fallback: T,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> T {
        if !self.data.columns.contains_key(field) {
            return absent;
        }
        match parse(&self.raw(field)) {
            Ok(v) => v,
            Err(msg) => {
                self.problem(field, msg);
                fallback
            }
        }
    }

    fn count(&mut self, field: &str, default: u32) -> u32 {
        self.parse(field, default, default, parse_count)
    }

    /// A count that may be left empty for its default.
    fn count_or(&mut self, field: &str, default: u32) -> u32 {
        self.parse(field, default, default, |s| {
            if s.trim().is_empty() {
                Ok(default)
            } else {
                parse_count(s)
            }
        })
    }

    fn flag(&mut self, field: &str) -> bool {
        self.parse(field, false, false, parse_yes_no)
    }

    fn label<T: Copy>(
        &mut self,
        field: &str,
        default: T,
        all: &[T],
        label: fn(T) -> &'static str,
        empty_is_default: bool,
    ) -> T {
        self.parse(field, default, default, |s| {
            if empty_is_default && s.trim().is_empty() {
                Ok(default)
            } else {
                parse_label(s, all, label)
            }
        })
    }

    /// The index of a parent row by its code, or a problem at this cell.
    fn parent(&mut self, field: &str, index: &HashMap<String, usize>, what: &str) -> Option<usize> {
        let code = self.code(field);
        match index.get(&code) {
            Some(i) => Some(*i),
            None => {
                let sheet = if what == "事项" {
                    ITEMS.name
                } else {
                    BUNDLES.name
                };
                let msg = if code.is_empty() {
                    format!("请填写{what}编码")
                } else {
                    format!("{what}编码 {code} 不在「{sheet}」表中")
                };
                self.problem(field, msg);
                None
            }
        }
    }
}

/// Reads a workbook. Only a file that is not a readable .xlsx at all is an error here; every
/// problem inside it is collected in [`Parsed::problems`].
pub fn read(bytes: &[u8]) -> Result<Parsed> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| {
        Error::invalid(
            "unreadable_file",
            "无法读取该 Excel 文件，请上传 .xlsx 格式的文件",
        )
        .field("file", "文件不是有效的 .xlsx 工作簿")
        .with_detail(e)
    })?;
    let mut out = Parsed {
        catalogue: Catalogue::default(),
        problems: Vec::new(),
        locations: HashMap::new(),
        tainted: HashSet::new(),
    };
    let names = wb.sheet_names();
    if !SHEETS.iter().any(|s| names.iter().any(|n| n == s.name)) {
        return Err(Error::invalid(
            "unreadable_file",
            "文件中没有可识别的工作表（区域、部门、事项、办理情形、申请材料、特殊环节、一件事、一件事事项、共享材料）",
        )
        .field("file", "请使用导出的模板填写"));
    }
    let mut data = HashMap::new();
    for sheet in SHEETS {
        if !names.iter().any(|n| n == sheet.name) {
            continue;
        }
        let range = wb.worksheet_range(sheet.name).map_err(|e| {
            Error::invalid(
                "unreadable_file",
                format!("无法读取工作表「{}」", sheet.name),
            )
            .with_detail(e)
        })?;
        data.insert(sheet.name, headers(sheet, range, &mut out));
    }
    let c = read_rows(&data, &mut out);
    out.catalogue = c;
    Ok(out)
}

fn headers(sheet: &'static Sheet, range: Range<Data>, out: &mut Parsed) -> SheetData {
    let mut columns = HashMap::new();
    let last_col = range.end().map_or(0, |(_, c)| c);
    for c in 0..=last_col {
        let header = match range.get_value((0, c)) {
            Some(Data::String(s)) => s.trim().to_string(),
            _ => continue,
        };
        if header.is_empty() {
            continue;
        }
        let cell = format!("{}!{}1", sheet.name, column_letters(c));
        match sheet.columns.iter().find(|col| col.header == header) {
            Some(col) if columns.contains_key(col.field) => out.problems.push(FieldError {
                field: cell,
                message: format!("列「{header}」重复出现"),
            }),
            Some(col) => {
                columns.insert(col.field, c);
            }
            None => out.problems.push(FieldError {
                field: cell,
                message: format!("无法识别的列「{header}」"),
            }),
        }
    }
    for col in sheet.columns {
        if col.required && !columns.contains_key(col.field) {
            out.problems.push(FieldError {
                field: format!("{}!1:1", sheet.name),
                message: format!("缺少列「{}」", col.header),
            });
        }
    }
    SheetData {
        sheet,
        columns,
        range,
    }
}

fn read_rows(data: &HashMap<&str, SheetData>, out: &mut Parsed) -> Catalogue {
    let mut c = Catalogue::default();
    if let Some(d) = data.get(REGIONS.name) {
        for row in d.rows() {
            let at = format!("regions[{}]", c.regions.len());
            let mut r = RowReader::new(d, row, out);
            r.source_of(&at);
            c.regions.push(Region {
                code: r.code("code"),
                name: r.text("name"),
                parent: r.optional("parent"),
                level: r.label(
                    "level",
                    RegionLevel::County,
                    &RegionLevel::ALL,
                    RegionLevel::label,
                    false,
                ),
            });
        }
    }
    if let Some(d) = data.get(DEPARTMENTS.name) {
        for row in d.rows() {
            let at = format!("departments[{}]", c.departments.len());
            let mut r = RowReader::new(d, row, out);
            r.source_of(&at);
            c.departments.push(Department {
                code: r.code("code"),
                name: r.text("name"),
                region: r.optional("region"),
            });
        }
    }
    let mut items: HashMap<String, usize> = HashMap::new();
    if let Some(d) = data.get(ITEMS.name) {
        for row in d.rows() {
            let at = format!("items[{}]", c.items.len());
            let mut r = RowReader::new(d, row, out);
            r.source_of(&at);
            let item = read_item(&mut r);
            items.entry(item.code.clone()).or_insert(c.items.len());
            c.items.push(item);
        }
    }
    if let Some(d) = data.get(SITUATIONS.name) {
        for row in d.rows() {
            let mut r = RowReader::new(d, row, out);
            let Some(i) = r.parent("item", &items, "事项") else {
                continue;
            };
            let at = format!("items[{i}].situations[{}]", c.items[i].situations.len());
            r.source_of(&at);
            let s = Situation {
                code: r.code("code"),
                question: r.text("question"),
                options: r.parse("options", vec![], vec![], parse_options),
            };
            c.items[i].situations.push(s);
        }
    }
    if let Some(d) = data.get(MATERIALS.name) {
        for row in d.rows() {
            let mut r = RowReader::new(d, row, out);
            let Some(i) = r.parent("item", &items, "事项") else {
                continue;
            };
            let at = format!("items[{i}].materials[{}]", c.items[i].materials.len());
            r.source_of(&at);
            let m = read_material(&mut r);
            c.items[i].materials.push(m);
        }
    }
    if let Some(d) = data.get(PROCEDURES.name) {
        for row in d.rows() {
            let mut r = RowReader::new(d, row, out);
            let Some(i) = r.parent("item", &items, "事项") else {
                continue;
            };
            let at = format!(
                "items[{i}].special_procedures[{}]",
                c.items[i].special_procedures.len()
            );
            r.source_of(&at);
            let p = SpecialProcedure {
                name: r.text("name"),
                days: r.count("days", 0),
                counted_in_limit: r.flag("counted_in_limit"),
            };
            c.items[i].special_procedures.push(p);
        }
    }
    let mut bundles: HashMap<String, usize> = HashMap::new();
    if let Some(d) = data.get(BUNDLES.name) {
        for row in d.rows() {
            let at = format!("bundles[{}]", c.bundles.len());
            let mut r = RowReader::new(d, row, out);
            r.source_of(&at);
            let b = Bundle {
                code: r.code("code"),
                name: r.text("name"),
                description: r.text("description"),
                items: vec![],
                shared_materials: vec![],
            };
            bundles.entry(b.code.clone()).or_insert(c.bundles.len());
            c.bundles.push(b);
        }
    }
    if let Some(d) = data.get(BUNDLE_ITEMS.name) {
        for row in d.rows() {
            let mut r = RowReader::new(d, row, out);
            let Some(i) = r.parent("bundle", &bundles, "一件事") else {
                continue;
            };
            let at = format!("bundles[{i}].items[{}]", c.bundles[i].items.len());
            r.source_of(&at);
            let m = BundleItem {
                item: r.code("item"),
                after: split_list(&r.text("after")),
            };
            c.bundles[i].items.push(m);
        }
    }
    if let Some(d) = data.get(SHARED.name) {
        for row in d.rows() {
            let mut r = RowReader::new(d, row, out);
            let Some(i) = r.parent("bundle", &bundles, "一件事") else {
                continue;
            };
            let at = format!(
                "bundles[{i}].shared_materials[{}]",
                c.bundles[i].shared_materials.len()
            );
            r.source_of(&at);
            let s = SharedMaterial {
                code: r.code("code"),
                name: r.text("name"),
                covers: r.parse("covers", vec![], vec![], parse_covers),
            };
            c.bundles[i].shared_materials.push(s);
        }
    }
    c
}

fn read_item(r: &mut RowReader) -> ServiceItem {
    ServiceItem {
        code: r.code("code"),
        name: r.text("name"),
        department: r.code("department"),
        item_type: r.label(
            "type",
            ItemType::default(),
            &ItemType::ALL,
            ItemType::label,
            true,
        ),
        kind: r.label(
            "kind",
            ItemKind::Committed,
            &ItemKind::ALL,
            ItemKind::label,
            false,
        ),
        statutory_limit_days: r.count("statutory_limit_days", 0),
        committed_limit_days: r.count("committed_limit_days", 0),
        legal_basis: r.text("legal_basis"),
        conditions: r.text("conditions"),
        fee: r.text("fee"),
        on_site_visits: r.count_or("on_site_visits", 0),
        online: r.flag("online"),
        deemed_approval: r.flag("deemed_approval"),
        special_procedures: vec![],
        situations: vec![],
        materials: vec![],
        process_description: r.text("process_description"),
        consult_phone: r.text("consult_phone"),
        location: r.text("location"),
        result: ItemResult {
            name: r.text("result.name"),
            material: r.code("result.material"),
            valid_years: r.count_or("result.valid_years", 0),
        },
    }
}

fn read_material(r: &mut RowReader) -> MaterialRequirement {
    MaterialRequirement {
        code: r.code("code"),
        name: r.text("name"),
        form: r.label(
            "form",
            MaterialForm::default(),
            &MaterialForm::ALL,
            MaterialForm::label,
            true,
        ),
        copies: r.count_or("copies", 1),
        medium: r.label(
            "medium",
            MaterialMedium::default(),
            &MaterialMedium::ALL,
            MaterialMedium::label,
            true,
        ),
        required_if: r.parse("required_if", None, None, parse_condition),
        template: r.optional("template"),
        note: r.text("note"),
    }
}

#[cfg(test)]
mod tests {
    use yichuang_domain::catalogue::fixtures::sample_catalogue;

    use super::*;

    #[test]
    fn a_written_catalogue_reads_back_equal() {
        let c = sample_catalogue();
        let parsed = read(&write(&c).unwrap()).unwrap();
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.catalogue, c);
    }

    #[test]
    fn column_letters_go_past_z() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn a_validation_path_maps_to_the_cell_it_came_from() {
        let c = sample_catalogue();
        let parsed = read(&write(&c).unwrap()).unwrap();
        let e = Error::validation(vec![])
            .field("items[1].committed_limit_days", "太长")
            .field("items[0].materials[2].required_if.answers", "没有这个选项")
            .field("bundles[0].items", "循环")
            .field("items[2].situations[0].options[1].label", "含分号");
        let located = parsed.locate(Some(e));
        let cells: Vec<&str> = located.fields.iter().map(|f| f.field.as_str()).collect();
        // Item rows start at row 2; materials of the first item are rows 2–5.
        assert_eq!(
            cells,
            ["事项!G3", "办理情形!D6", "申请材料!G4", "一件事!A2"]
        );
    }

    #[test]
    fn a_cell_reference_splits_into_sheet_row_and_column() {
        assert_eq!(split_cell("事项!AB12"), ("事项", 12, "AB"));
        assert_eq!(split_cell("事项!1:1"), ("事项", 1, ""));
    }
}
