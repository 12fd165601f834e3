//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

mod analytics;
pub(super) mod maintenance;
