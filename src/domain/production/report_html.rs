//! A report as a print-ready HTML page: one page per line at A4 landscape. All text is
//! escaped and there is no script; the one inline style sheet is allowed by its hash in
//! the response's own Content-Security-Policy ([`content_security_policy`]).

use std::fmt::Write;

use base64::Engine;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

use super::period::local_time;
use super::report::{LineReport, Report, ReportSource};
use crate::domain::oee::OeeFigures;

/// The page's style sheet.
pub const PRINT_CSS: &str = "@page { size: A4 landscape; margin: 10mm; }\n\
body { font: 9pt/1.3 sans-serif; color: #000; margin: 0; }\n\
.page { break-after: page; page-break-after: always; }\n\
.page:last-child { break-after: auto; page-break-after: auto; }\n\
h1 { font-size: 14pt; margin: 0 0 2mm; }\n\
h2 { font-size: 10pt; margin: 3mm 0 1mm; }\n\
p { margin: 0 0 2mm; }\n\
table { border-collapse: collapse; width: 100%; }\n\
th, td { border: 1px solid #888; padding: 1px 4px; text-align: right; }\n\
th:first-child, td:first-child, td.text { text-align: left; }\n\
.none { color: #555; font-style: italic; }\n";

/// The `Content-Security-Policy` of the page: nothing but its own style sheet.
pub fn content_security_policy() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(PRINT_CSS.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'"
    )
}

/// Text made safe for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A ratio as a percentage with two decimals (`74.79 %`), or a dash.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{:.2} %", x * 100.0))
}

fn minutes(seconds: f64) -> String {
    format!("{:.1}", seconds / 60.0)
}

fn opt_seconds(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |s| format!("{s:.0}"))
}

fn local(tz: Tz, t: &DateTime<Utc>) -> String {
    local_time(tz, t.timestamp_millis())
}

fn figures_row(out: &mut String, name: &str, f: &OeeFigures) {
    let _ = write!(
        out,
        "<tr><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(name),
        percent(f.oee),
        percent(f.availability),
        percent(f.performance),
        percent(f.quality),
        f.good,
        f.reject,
        f.total,
        minutes(f.run_s),
        minutes(f.down_s),
        minutes(f.micro_stop_s),
        minutes(f.planned_production_s),
    );
}

fn none(out: &mut String, text: &str) {
    let _ = write!(out, "<p class=\"none\">{}</p>", escape(text));
}

fn section(out: &mut String, title: &str, rows: &Option<Vec<serde_json::Value>>) {
    let _ = write!(out, "<h2>{}</h2>", escape(title));
    match rows {
        None => none(out, "not recorded on this server"),
        Some(r) if r.is_empty() => none(out, "none"),
        Some(r) => {
            out.push_str("<table>");
            for v in r {
                let _ = write!(
                    out,
                    "<tr><td class=\"text\">{}</td></tr>",
                    escape(&super::report::section_text(v))
                );
            }
            out.push_str("</table>");
        }
    }
}

fn line_page(out: &mut String, report: &Report, tz: Tz, l: &LineReport) {
    let p = &report.period;
    let _ = write!(
        out,
        "<section class=\"page\"><h1>{} — {}</h1><p>{} to {} ({}), {} h. Made {}{}{}.</p>",
        escape(&l.name),
        escape(&p.label),
        escape(&p.from_local),
        escape(&p.to_local),
        escape(&report.time_zone),
        p.length_s / 3600.0,
        escape(&local(tz, &l.generated_at)),
        if l.source == ReportSource::Stored {
            ", stored"
        } else {
            ""
        },
        if l.partial { "; the span had not ended" } else { "" },
    );
    out.push_str(
        "<h2>OEE</h2><table><tr><th>line / machine</th><th>OEE</th><th>availability</th><th>performance</th>\
         <th>quality</th><th>good</th><th>reject</th><th>total</th><th>run min</th><th>down min</th>\
         <th>micro-stop min</th><th>planned production min</th></tr>",
    );
    figures_row(out, &format!("{} (line)", l.id), &l.oee);
    for m in &l.machines {
        figures_row(out, &m.id, &m.oee);
    }
    out.push_str("</table><h2>Downtime by reason</h2>");
    let d = &l.downtime;
    if d.reasons.is_empty() {
        none(out, "no downtime");
    } else {
        out.push_str("<table><tr><th>reason</th><th>minutes</th><th>stops</th><th>share</th></tr>");
        for r in &d.reasons {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.reason),
                r.minutes,
                r.occurrences,
                percent(Some(r.share))
            );
        }
        for (name, t) in [
            ("others", &d.others),
            ("unclassified", &d.unclassified),
            ("all", &d.total),
        ] {
            let _ = write!(
                out,
                "<tr><td><em>{name}</em></td><td>{:.2}</td><td>{}</td><td></td></tr>",
                t.minutes, t.occurrences
            );
        }
        out.push_str("</table>");
    }
    let _ = write!(
        out,
        "<p>Micro-stops: {} ({:.2} min).</p><h2>Andon tickets</h2>",
        d.micro_stops.occurrences, d.micro_stops.minutes
    );
    if l.andon.tickets.is_empty() {
        none(out, "no tickets raised");
    } else {
        out.push_str(
            "<table><tr><th>ticket</th><th>machine</th><th>category</th><th>priority</th><th>state</th>\
             <th>raised</th><th>to acknowledge s</th><th>to resolve s</th><th>description</th></tr>",
        );
        for t in &l.andon.tickets {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td>\
                 <td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
                t.id,
                escape(t.machine.as_deref().unwrap_or("")),
                escape(&t.category),
                escape(&t.priority),
                escape(&t.state),
                escape(&local(tz, &t.raised_at)),
                opt_seconds(t.time_to_acknowledge_s),
                opt_seconds(t.time_to_resolve_s),
                escape(&t.description),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<h2>Jobs</h2>");
    if l.jobs.is_empty() {
        none(out, "no job ran");
    } else {
        out.push_str(
            "<table><tr><th>job</th><th>product</th><th>state</th><th>target</th><th>good</th><th>reject</th>\
             <th>run min</th><th>progress</th></tr>",
        );
        for j in &l.jobs {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                j.id,
                escape(&j.product_name),
                j.state.as_str(),
                j.target,
                j.in_period.good,
                j.in_period.reject,
                minutes(j.in_period.run_s),
                percent(Some(j.progress.fraction)),
            );
        }
        out.push_str("</table>");
    }
    section(out, "Rejects by defect", &l.sections.rejects_by_defect);
    section(out, "Checklists", &l.sections.checklists);
    section(out, "Handover notes", &l.sections.handover);
    out.push_str("</section>");
}

/// The report as one HTML document, a page per line.
pub fn to_html(report: &Report, tz: Tz) -> String {
    let mut out = String::with_capacity(8_192);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MS5 report {}</title>\
         <style>{PRINT_CSS}</style></head><body>",
        escape(&report.period.label)
    );
    for l in &report.lines {
        line_page(&mut out, report, tz, l);
    }
    if report.lines.is_empty() {
        none(&mut out, "no lines");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_are_percent_with_two_decimals() {
        // (input, escaped)
        let table = [
            ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
            ("a & \"b\" 'c'", "a &amp; &quot;b&quot; &#39;c&#39;"),
            ("plain", "plain"),
        ];
        for (input, want) in table {
            assert_eq!(escape(input), want);
        }
        // 18,848 / 25,200 = 0.747936… → 74.79 %
        assert_eq!(percent(Some(18_848.0 / 25_200.0)), "74.79 %");
        assert_eq!(percent(None), "–");
    }

    #[test]
    fn the_policy_allows_exactly_the_page_style() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(PRINT_CSS.contains("size: A4 landscape"));
    }
}
