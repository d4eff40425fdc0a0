//! A record sink that streams one kind of record as it arrives (`disk ls` writes a
//! volume's entries batch by batch, so millions of entries never sit in memory).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::OutputFormat;

/// A record sink that writes one kind as rows arrive: the CSV header once, JSONL lines,
/// or (table) rows collected and aligned at the end.
pub struct RowStream<W: Write, T> {
    w: W,
    format: OutputFormat,
    header_done: bool,
    table_rows: Vec<T>,
}

impl<W: Write, T: Serialize + Default + Clone + super::table::TableRow> RowStream<W, T> {
    pub fn new(w: W, format: OutputFormat) -> Self {
        RowStream {
            w,
            format,
            header_done: false,
            table_rows: Vec::new(),
        }
    }

    fn header(&mut self) -> Result<()> {
        if !self.header_done && self.format == OutputFormat::Csv {
            self.w.write_all(super::csv_header::<T>()?.as_bytes())?;
        }
        self.header_done = true;
        Ok(())
    }

    pub fn rows(&mut self, rows: &[T]) -> Result<()> {
        self.header()?;
        match self.format {
            OutputFormat::Table => self.table_rows.extend_from_slice(rows),
            f => super::write_records_no_header(&mut self.w, f, rows.iter())?,
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.header()?;
        if self.format == OutputFormat::Table {
            super::write_records(&mut self.w, OutputFormat::Table, self.table_rows.iter())?;
        }
        self.w.flush()?;
        Ok(())
    }
}
