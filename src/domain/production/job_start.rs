//! Whether a job may start on a line, as far as shift-start checklists go, pure: every
//! template that blocks job start must have been filled and passed in the current shift
//! occurrence (its latest checklist counts). The store-backed entry point is
//! `crate::store::job_start_blocker`, which the jobs code calls.

use super::checklist_eval::TemplateStatus;

/// A template that blocks job start, and its state in the current shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingCheck {
    /// Template name.
    pub template: String,
    /// Its state in the shift.
    pub status: TemplateStatus,
}

/// Why a job may not start now: every blocking template of the line that has not been
/// filled and passed in the current shift `shift`, or `None` when all have.
pub fn job_start_blocker(shift: &str, checks: &[BlockingCheck]) -> Option<String> {
    let reasons: Vec<String> = checks
        .iter()
        .filter_map(|c| match c.status {
            TemplateStatus::Passed => None,
            TemplateStatus::NotStarted => Some(format!(
                "checklist `{}` has not been filled in shift `{shift}`",
                c.template
            )),
            TemplateStatus::Failed => Some(format!("checklist `{}` failed in shift `{shift}`", c.template)),
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::production::checklist_eval::ChecklistResult;

    #[test]
    fn job_start_waits_for_every_blocking_checklist_to_pass() {
        let check = |template: &str, status| BlockingCheck {
            template: template.into(),
            status,
        };
        let cases = [
            (vec![], None),
            (vec![check("Start-up", TemplateStatus::Passed)], None),
            (
                vec![check("Start-up", TemplateStatus::NotStarted)],
                Some("checklist `Start-up` has not been filled in shift `early`"),
            ),
            (
                vec![
                    check("Start-up", TemplateStatus::Failed),
                    check("Safety", TemplateStatus::Passed),
                    check("Hygiene", TemplateStatus::NotStarted),
                ],
                Some(
                    "checklist `Start-up` failed in shift `early`; \
                     checklist `Hygiene` has not been filled in shift `early`",
                ),
            ),
        ];
        for (checks, want) in cases {
            assert_eq!(job_start_blocker("early", &checks).as_deref(), want, "{checks:?}");
        }
        assert_eq!(TemplateStatus::from(None), TemplateStatus::NotStarted);
        assert_eq!(
            TemplateStatus::from(Some(ChecklistResult::Failed)),
            TemplateStatus::Failed
        );
    }
}
