//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

mod analytics;
mod jobs;
pub(super) mod maintenance;
mod products;
pub mod rejects;

pub use jobs::{JobFilter, JobPlan, JobRecord};
pub mod checklist_templates;
pub mod checklists;
pub mod handover;
