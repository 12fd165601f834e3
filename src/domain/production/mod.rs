//! Production management, pure: products and jobs, manual rejects and the defect tree,
//! shift checklists and handover, maintenance orders, reports and loss analytics.

pub mod bucket;
pub mod checklist;
pub mod checklist_eval;
pub mod defects;
pub mod handover;
pub mod job;
pub mod job_start;
pub mod losses;
pub mod maintenance;
pub mod maintenance_fields;
pub mod period;
pub mod product;
pub mod rejects;
pub mod reliability;
pub mod report;
pub mod report_csv;
pub mod report_html;
pub mod shift_slot;
pub mod trend;
