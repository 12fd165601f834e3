//! Production management rows: products, jobs, rejects, checklists, handover notes,
//! maintenance orders and stored reports.
