//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

pub mod checklist_templates;
pub mod checklists;
pub mod handover;
