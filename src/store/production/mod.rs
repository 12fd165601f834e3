//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

mod jobs;
mod products;
mod reports;

pub use jobs::{JobFilter, JobPlan, JobRecord};
pub use reports::StoredReport;
