//! Production management, pure: products and jobs, manual rejects and the defect tree,
//! shift checklists and handover, maintenance orders, reports and loss analytics.

pub mod checklist;
pub mod checklist_eval;
pub mod handover;
pub mod job_start;
pub mod shift_slot;
