//! Production management, pure: products and jobs, manual rejects and the defect tree,
//! shift checklists and handover, maintenance orders, reports and loss analytics.

pub mod bucket;
pub mod job;
pub mod period;
pub mod product;
pub mod report;
pub mod report_csv;
pub mod report_html;
