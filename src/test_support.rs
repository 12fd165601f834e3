//! Helpers for unit tests.

use crate::domain::plant::PlantModel;

/// The shipped demo plant (config/plant.toml).
pub fn demo_plant() -> PlantModel {
    crate::config::parse_plant(include_str!("../config/plant.toml"), "plant.toml")
        .expect("the shipped plant model is valid")
}
