//! The one text-table printer of every subcommand: columns with a header, a width and an
//! alignment, cells formatted by the caller, one space between columns. Rows print as they
//! are made, so long runs show their progress.

/// How a column's cells are padded to its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right.
    Left,
    /// Padded on the left (numbers).
    Right,
}

/// A table's columns.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<(&'static str, usize, Align)>,
}

impl Table {
    /// A table with these columns: (header, width, alignment).
    pub fn new(columns: &[(&'static str, usize, Align)]) -> Self {
        Self {
            columns: columns.to_vec(),
        }
    }

    /// One line: each cell padded to its column's width (a wider cell is not cut), one
    /// space between columns, no trailing spaces.
    pub fn line<S: AsRef<str>>(&self, cells: &[S]) -> String {
        let padded: Vec<String> = self
            .columns
            .iter()
            .zip(cells)
            .map(|(&(_, width, align), cell)| {
                let cell = cell.as_ref();
                match align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                }
            })
            .collect();
        padded.join(" ").trim_end().to_owned()
    }

    /// The header line.
    pub fn header(&self) -> String {
        let headers: Vec<&str> = self.columns.iter().map(|c| c.0).collect();
        self.line(&headers)
    }

    /// Prints the header line.
    pub fn print_header(&self) {
        println!("{}", self.header());
    }

    /// Prints a row of cells, one per column, already formatted (`format!("{:.1}", x)`).
    pub fn print_row<S: AsRef<str>>(&self, cells: &[S]) {
        println!("{}", self.line(cells));
    }
}

/// A left-aligned column.
pub const fn left(header: &'static str, width: usize) -> (&'static str, usize, Align) {
    (header, width, Align::Left)
}

/// A right-aligned column.
pub const fn right(header: &'static str, width: usize) -> (&'static str, usize, Align) {
    (header, width, Align::Right)
}

/// A 99% interval as printed: `[0.912, 1.104]`.
pub fn interval(ci: [f64; 2]) -> String {
    format!("[{:.3}, {:.3}]", ci[0], ci[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_padded_like_format_widths() {
        let table = Table::new(&[left("mech", 5), right("ε", 5), right("MSE", 8)]);
        assert_eq!(
            table.header(),
            format!("{:<5} {:>5} {:>8}", "mech", "ε", "MSE")
        );
        let mse = format!("{:.1}", 12.345);
        assert_eq!(
            table.line(&["grr", "1", mse.as_str()]),
            format!("{:<5} {:>5} {:>8.1}", "grr", 1.0, 12.345)
        );
        assert_eq!(
            table.line(&["piecewise", "0.5", "1.0"]),
            "piecewise   0.5      1.0"
        );
        let last_left = Table::new(&[left("rank", 4), left("server cost", 0)]);
        assert_eq!(last_left.line(&["1", "O(1)"]), "1    O(1)");
    }
}
