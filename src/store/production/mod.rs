//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.

pub mod rejects;
