//! Production: the live line and machine reads, and production management (products,
//! jobs, rejects, checklists and handover, maintenance orders, reports, loss analytics).

pub mod analytics;
pub mod checklist_templates;
pub mod checklists;
pub mod field_json;
pub mod handover;
pub mod jobs;
pub mod lines;
pub mod maintenance;
pub mod maintenance_views;
pub mod products;
pub mod rejects;
pub mod reports;
pub mod series;
