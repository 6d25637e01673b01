//! Printing results the way `az -o json|table|tsv|none` does.

use clap::ValueEnum;
use serde_json::Value;

/// `--output/-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Pretty-printed JSON: the resource, or an array for lists.
    Json,
    /// Aligned columns with a header.
    Table,
    /// Tab-separated columns, no header (for scripts).
    Tsv,
    /// Nothing.
    None,
}

/// One column of a table: its header and how to read it from a resource.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub header: &'static str,
    pub get: fn(&Value) -> String,
}

pub const fn col(header: &'static str, get: fn(&Value) -> String) -> Col {
    Col { header, get }
}

/// The value at a JSON pointer as table text: strings bare, arrays comma-joined, null empty.
pub fn at(v: &Value, pointer: &str) -> String {
    text(v.pointer(pointer).unwrap_or(&Value::Null))
}

pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The resource group named in an ARM resource id.
pub fn resource_group(v: &Value) -> String {
    let id = v.get("id").and_then(Value::as_str).unwrap_or("");
    rg_of_id(id).unwrap_or_default()
}

pub fn rg_of_id(id: &str) -> Option<String> {
    let mut segs = id.split('/');
    while let Some(s) = segs.next() {
        if s.eq_ignore_ascii_case("resourceGroups") {
            return segs.next().map(str::to_owned);
        }
    }
    None
}

/// Prints a list (default: table).
pub fn print_list(out: Option<Output>, items: &[Value], cols: &[Col]) {
    match out.unwrap_or(Output::Table) {
        Output::Json => print_json(&Value::Array(items.to_vec())),
        Output::Table => print_table(items, cols),
        Output::Tsv => print_tsv(items, cols),
        Output::None => {}
    }
}

/// Prints one resource (default: JSON).
pub fn print_one(out: Option<Output>, item: &Value, cols: &[Col]) {
    match out.unwrap_or(Output::Json) {
        Output::Json => print_json(item),
        Output::Table => print_table(std::slice::from_ref(item), cols),
        Output::Tsv => print_tsv(std::slice::from_ref(item), cols),
        Output::None => {}
    }
}

pub fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// `az`'s table layout: a header row, a row of dashes, then the rows; columns two spaces apart.
pub fn render_table(items: &[Value], cols: &[Col]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|v| cols.iter().map(|c| (c.get)(v)).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.header.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            s.extend(std::iter::repeat_n(' ', pad));
        }
        s.trim_end().to_owned()
    };
    let mut out = String::new();
    out.push_str(&line(cols.iter().map(|c| c.header.to_owned()).collect()));
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

fn print_table(items: &[Value], cols: &[Col]) {
    print!("{}", render_table(items, cols));
}

fn print_tsv(items: &[Value], cols: &[Col]) {
    for v in items {
        let cells: Vec<String> = cols.iter().map(|c| (c.get)(v)).collect();
        println!("{}", cells.join("\t"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns_under_their_headers() {
        let cols = [
            col("Name", |v| at(v, "/name")),
            col("ResourceGroup", resource_group),
            col("Bandwidth", |v| at(v, "/properties/bw")),
        ];
        let items = [
            json!({"name": "er1", "id": "/subscriptions/s/resourceGroups/rg-long-name/providers/x/y/er1", "properties": {"bw": 50}}),
            json!({"name": "circuit-two", "id": "/subscriptions/s/resourceGroups/r/providers/x/y/c", "properties": {"bw": 1000}}),
        ];
        let t = render_table(&items, &cols);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Name         ResourceGroup  Bandwidth");
        assert_eq!(lines[1], "-----------  -------------  ---------");
        assert_eq!(lines[2], "er1          rg-long-name   50");
        assert_eq!(lines[3], "circuit-two  r              1000");
    }

    #[test]
    fn cells_render_arrays_and_nulls() {
        let v = json!({"a": ["x", "y"], "b": null, "c": true});
        assert_eq!(at(&v, "/a"), "x, y");
        assert_eq!(at(&v, "/b"), "");
        assert_eq!(at(&v, "/missing"), "");
        assert_eq!(at(&v, "/c"), "true");
    }
}
