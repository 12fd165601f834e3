//! Production: the live line and machine reads, and production management (products,
//! jobs, rejects, checklists and handover, maintenance orders, reports, loss analytics).

pub mod jobs;
pub mod lines;
pub mod products;
pub mod reports;
pub mod series;
