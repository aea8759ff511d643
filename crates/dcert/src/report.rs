//! The verification report as text for people.

use std::fmt::Write as _;

use dcert_core::verify::{CheckName, CheckResult, Finding, Outcome, Report};

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "認證成功 SUCCESS",
        Outcome::Warning => "認證警告 WARNING",
        Outcome::Failure => "認證失敗 FAILURE",
    }
}

/// A readable report for one file.
pub fn text(file: &str, report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{file}");
    let _ = writeln!(s, "  {}  {}", outcome_label(report.outcome), report.summary);
    if let Some(reason) = report.reason {
        let code = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let _ = writeln!(s, "  reason       {code}");
    }
    if let Some(issuer) = &report.issuer {
        let _ = writeln!(s, "  issuer       {} ({}) [{}], as registered", issuer.name_zh, issuer.name_en, issuer.id);
    }
    if let Some(c) = &report.credential {
        let authentic = match report.embedded_credential_authentic {
            Some(true) => " (embedded data, authentic; the file itself is not the original)",
            _ => "",
        };
        let _ =
            writeln!(s, "  certificate  {} · {} · version {}{authentic}", c.certificate_number, c.language, c.version);
        if let Some(d) = &c.degree {
            let _ = writeln!(
                s,
                "  holder       {} ({}), born {}, student {}",
                d.name_zh, d.name_en, d.birth_date, d.student_number
            );
            let _ = writeln!(s, "  degree       {} / {}", d.degree_zh, d.degree_en);
            let _ = writeln!(s, "  school       {} / {}", d.school_zh, d.school_en);
            let _ = writeln!(
                s,
                "  programme    {} {} / {}, {}",
                d.college_zh, d.department_zh, d.department_en, d.college_en
            );
            for p in &d.other_programs {
                let _ = writeln!(s, "  {:<12} {} / {}", p.kind.label_en().to_lowercase(), p.name_zh, p.name_en);
            }
            let _ = writeln!(
                s,
                "  graduated    {} ({}), diploma {}",
                d.graduation_date, d.graduation_term, d.diploma_number
            );
        }
        if let Some(t) = &c.teacher {
            let _ = writeln!(s, "  holder       {} ({}), born {}", t.name_zh, t.name_en, t.birth_date);
            let _ = writeln!(s, "  certificate  {} / {}, {} / {}", t.kind_zh, t.kind_en, t.subject_zh, t.subject_en);
            let _ = writeln!(s, "  issued       {}, number {}", t.issue_date, t.teacher_certificate_number);
        }
        if let Some(prev) = c.previous_version_sha256 {
            let _ = writeln!(s, "  previous     SHA-256 {prev}");
        }
    }
    if let Some(newer) = &report.newer_version {
        let _ = writeln!(s, "  newer        version {} issued {}", newer.version, newer.issued_at);
    }
    let _ = writeln!(s, "  checks");
    for check in &report.checks {
        let result = match check.result {
            CheckResult::Pass => "pass   ",
            CheckResult::Fail => "FAIL   ",
            CheckResult::Unknown => "unknown",
        };
        let name =
            serde_json::to_value(check.name).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let _ = writeln!(s, "    {result}  {name:<20} {}", check.detail);
    }
    if let Some(sha) = report.file_sha256 {
        let _ = writeln!(s, "  sha256       {sha}");
    }
    let _ = writeln!(
        s,
        "  trust list   #{} of {}, root {}",
        report.trust_list.sequence, report.trust_list.issued, report.trust_list.root_fingerprint
    );
    match report.status_as_of {
        Some(t) => {
            let _ = writeln!(s, "  status as of {t}");
        }
        None => {
            // Offline by choice, or a registry (or bundle) whose answer could not be believed.
            let asked =
                report.check(CheckName::RegistryStatus).is_some_and(|c| c.finding == Finding::StatusUnavailable);
            let why = if asked { "no status could be believed" } else { "no registry consulted" };
            let _ = writeln!(s, "  status as of the trust list ({}); {why}", report.trust_list.issued);
        }
    }
    s
}
