//! Production management, pure: products and jobs, manual rejects and the defect tree,
//! shift checklists and handover, maintenance orders, reports and loss analytics.

pub mod defects;
pub mod job;
pub mod losses;
pub mod maintenance;
pub mod maintenance_fields;
pub mod product;
pub mod rejects;
pub mod reliability;
pub mod trend;
