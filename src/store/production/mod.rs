//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

mod analytics;
pub mod checklist_templates;
pub mod checklists;
pub mod handover;
mod jobs;
pub(super) mod maintenance;
mod products;
pub mod rejects;
mod reports;

pub use jobs::{JobFilter, JobPlan, JobRecord};
pub use reports::StoredReport;
