//! Locust's CSV files (`locust --csv PREFIX`, Locust 2.x).
//!
//! - `PREFIX_stats.csv`: its `Aggregated` row.
//! - `PREFIX_stats_history.csv`: its last `Aggregated` row (the run's
//!   totals at its end; with `--csv-full-history` Locust may write the last
//!   ~10 s window's percentiles there instead).
//!
//! The percentile columns (`50%` … `100%`) are the quantile points; a cell
//! reading `N/A` (no requests yet) is skipped. The minimum response time is
//! the point at q = 0 when it is not above the lowest percentile: Locust
//! rounds percentiles to two significant digits (`496.5` is reported as
//! `500`), so an exact minimum can lie above a rounded median, and is then
//! left out. The request count is the row's request count; Locust's
//! response times include its failures, so that count does too.
//!
//! Failures are counted as transport errors: the row does not tell an
//! error status (Locust fails >= 400 by default) from no answer (refused,
//! reset, timeout), and no statuses are known. Locust's
//! `PREFIX_failures.csv` says which was which.

use super::check::{self, Point};
use super::{Data, InputError};

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `*_stats.csv`.
    Stats,
    /// `*_stats_history.csv`.
    History,
}

impl Kind {
    /// The format's name in [`Data::format`].
    fn format(self) -> &'static str {
        match self {
            Kind::Stats => "Locust stats CSV",
            Kind::History => "Locust stats history CSV",
        }
    }

    /// The request count, failure count and minimum columns.
    fn columns(self) -> [&'static str; 3] {
        match self {
            Kind::Stats => ["Request Count", "Failure Count", "Min Response Time"],
            Kind::History => [
                "Total Request Count",
                "Total Failure Count",
                "Total Min Response Time",
            ],
        }
    }
}

/// Which Locust file a first line (a CSV header) starts, if any.
pub(crate) fn sniff(first: &str) -> Option<Kind> {
    let header: Vec<&str> = first.split(',').map(str::trim).collect();
    let has = |name: &str| header.contains(&name);
    if !has("Name") || !has("Type") {
        None
    } else if has("Timestamp") && has("Total Request Count") {
        Some(Kind::History)
    } else if has("Request Count") && has("Failure Count") {
        Some(Kind::Stats)
    } else {
        None
    }
}

/// Reads a stats or stats history file.
pub(crate) fn read(kind: Kind, text: &str, file: &str) -> Result<Data, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| check::csv_error(file, &e))?
        .clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            InputError::new(file, Some(1), format!("no `{name}` column in the header"))
        })
    };
    let name = column("Name")?;
    let [requests, failures, min] = kind.columns().map(column);
    let (requests, failures, min) = (requests?, failures?, min?);
    let percentiles: Vec<(usize, f64)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((i, check::scaled(h.strip_suffix('%')?, -2)?)))
        .collect();

    let mut aggregated = None;
    for record in reader.records() {
        let record = record.map_err(|e| check::csv_error(file, &e))?;
        if record.get(name) == Some("Aggregated") {
            aggregated = Some(record);
        }
    }
    let row = aggregated.ok_or_else(|| {
        InputError::new(
            file,
            None,
            "no `Aggregated` row: expected Locust's own CSV file",
        )
    })?;
    let line = row.position().map(|p| p.line() as usize);
    let cell = |i: usize| row.get(i).unwrap_or("");
    let whole = |i: usize| {
        cell(i).parse::<u64>().map_err(|_| {
            let reason = format!("`{}` is `{}`: expected a whole number", &header[i], cell(i));
            InputError::new(file, line, reason)
        })
    };
    let count = whole(requests)?;
    let failed = whole(failures)?;

    let mut points = Vec::new();
    for &(i, q) in &percentiles {
        if cell(i) != "N/A" {
            let ms = check::parse_ms(file, line, cell(i), Some(&header[i]))?;
            points.push(Point {
                q,
                ms,
                label: header[i].to_owned(),
            });
        }
    }
    if cell(min) != "N/A" && count > 0 {
        let ms = check::parse_ms(file, line, cell(min), Some(&header[min]))?;
        if points.iter().all(|p| p.ms >= ms) {
            points.push(Point {
                q: 0.0,
                ms,
                label: header[min].to_owned(),
            });
        }
    }
    Ok(Data {
        source: file.to_owned(),
        format: kind.format(),
        latencies: check::quantiles(file, line, "the `Aggregated` row", points, Some(count))?,
        statuses: Default::default(),
        transport_errors: failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Latencies;

    const STATS: &str = include_str!("../../tests/data/locust_stats.csv");
    const HISTORY: &str = include_str!("../../tests/data/locust_stats_history.csv");

    fn first(text: &str) -> &str {
        text.lines().next().unwrap()
    }

    fn err(kind: Kind, text: &str) -> String {
        read(kind, text, "l.csv").unwrap_err().to_string()
    }

    /// `STATS` with its `Aggregated` row's cell `column` set to `value`.
    fn stats_with(column: &str, value: &str) -> String {
        let mut lines: Vec<String> = STATS.lines().map(str::to_owned).collect();
        let i = first(STATS).split(',').position(|h| h == column).unwrap();
        let mut cells: Vec<&str> = lines[3].split(',').collect();
        cells[i] = value;
        lines[3] = cells.join(",");
        lines.join("\n")
    }

    #[test]
    fn both_headers_are_recognised() {
        assert_eq!(sniff(first(STATS)), Some(Kind::Stats));
        assert_eq!(sniff(first(HISTORY)), Some(Kind::History));
        assert_eq!(sniff("Type,Name,Count"), None);
        assert_eq!(sniff("ms,status"), None);
    }

    #[test]
    fn a_real_stats_file_gives_the_aggregated_percentiles() {
        let data = read(Kind::Stats, STATS, "l_stats.csv").unwrap();
        assert_eq!(data.format, "Locust stats CSV");
        let Latencies::Quantiles { points, count } = &data.latencies else {
            panic!()
        };
        // 42 answers and 3 refused connections, which Locust times too.
        assert_eq!(*count, Some(45));
        assert_eq!(data.transport_errors, 3);
        assert!(data.statuses.is_empty());
        assert_eq!(points[0], (0.0, 1.1146260003442876));
        assert_eq!(points[1], (0.5, 370.0));
        assert_eq!(points.last(), Some(&(1.0, 500.0)));
        assert_eq!(points.len(), 12);
    }

    #[test]
    fn a_real_history_file_gives_its_last_aggregated_row() {
        let data = read(Kind::History, HISTORY, "l_stats_history.csv").unwrap();
        assert_eq!(data.format, "Locust stats history CSV");
        let Latencies::Quantiles { points, count } = &data.latencies else {
            panic!()
        };
        assert_eq!(*count, Some(45));
        assert_eq!(data.transport_errors, 3);
        assert_eq!(points[1], (0.5, 370.0));
        assert_eq!(points[5], (0.9, 470.0));
    }

    #[test]
    fn na_cells_are_skipped_and_a_min_above_a_rounded_percentile_is_left_out() {
        let text = stats_with("50%", "N/A");
        let text = text.replace(",1.1146260003442876,496.", ",402.7,496.");
        let data = read(Kind::Stats, &text, "l.csv").unwrap();
        let Latencies::Quantiles { points, .. } = data.latencies else {
            panic!()
        };
        // No 50% point; the exact minimum 402.7 is above the rounded 66%
        // (400), so it is not a point either.
        assert_eq!(points[0], (0.66, 400.0));
    }

    #[test]
    fn a_row_with_zero_requests_is_an_error() {
        let rows: Vec<&str> = HISTORY.lines().take(2).collect();
        assert_eq!(
            err(Kind::History, &rows.join("\n")),
            "l.csv, line 2: the `Aggregated` row: zero requests: nothing to fit"
        );
    }

    #[test]
    fn bad_cells_are_errors_naming_the_line_and_column() {
        assert_eq!(
            err(Kind::Stats, &stats_with("90%", "-3")),
            "l.csv, line 4: `-3` (`90%`) is negative: latencies are >= 0 ms"
        );
        assert_eq!(
            err(Kind::Stats, &stats_with("95%", "fast")),
            "l.csv, line 4: `fast` (`95%`) is not a number of milliseconds"
        );
        assert_eq!(
            err(Kind::Stats, &stats_with("Request Count", "many")),
            "l.csv, line 4: `Request Count` is `many`: expected a whole number"
        );
        assert_eq!(
            err(Kind::Stats, &stats_with("99%", "450")),
            "l.csv, line 4: the `Aggregated` row: quantile points out of order: \
             `99%` = 450 ms is below `98%` = 500 ms"
        );
    }

    #[test]
    fn broken_files_are_errors() {
        let no_aggregated: Vec<&str> = STATS.lines().take(3).collect();
        assert_eq!(
            err(Kind::Stats, &no_aggregated.join("\n")),
            "l.csv: no `Aggregated` row: expected Locust's own CSV file"
        );
        let short_row = format!("{}\nPOST,/detect,1,0\n", first(STATS));
        assert_eq!(
            err(Kind::Stats, &short_row),
            "l.csv, line 2: 4 fields where the header has 22"
        );
        let no_min = first(STATS).replace("Min Response Time", "Minimum");
        assert_eq!(
            err(Kind::Stats, &no_min),
            "l.csv, line 1: no `Min Response Time` column in the header"
        );
    }
}
