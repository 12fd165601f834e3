//! `ms5 simulate`: the simulated plant served as a stand-in PLC, over OPC UA
//! ([`super::opcua_server`], unless `[opcua.server] enabled = false`) and over Modbus TCP
//! ([`super::modbus::server`], when `[modbus.server] enabled = true`). Both serve the same
//! simulation, written every simulator step.

use super::modbus::server::ModbusServer;
use super::opcua_server::{PlcServer, PlcServerError};
use super::simulator::SimPlant;
use crate::clock::Clock;
use crate::config::{ModbusServerSettings, OpcUaServerSettings, SimulatorSettings};
use crate::domain::plant::PlantModel;

/// Runs the enabled servers until interrupted.
pub async fn run(
    plant: &PlantModel,
    opcua: &OpcUaServerSettings,
    modbus: &ModbusServerSettings,
    simulator: &SimulatorSettings,
    clock: Clock,
) -> Result<(), PlcServerError> {
    if !opcua.enabled && !modbus.enabled {
        return Err(PlcServerError::NothingToServe);
    }
    let opcua_server = match opcua.enabled {
        true => {
            let plc = PlcServer::start(plant, opcua).await?;
            tracing::info!(url = %plc.url(), namespace = %opcua.namespace, "simulated PLC serving");
            println!(
                "simulated PLC at {} (namespace {}, node ids ns=2;s=<tag>)",
                plc.url(),
                opcua.namespace
            );
            Some(plc)
        }
        false => None,
    };
    let modbus_server = match modbus.enabled {
        true => {
            let device = ModbusServer::start(plant, modbus).await?;
            tracing::info!(address = %device.address(), "simulated Modbus device serving");
            println!(
                "simulated Modbus device at {} (any unit id; machine n at registers 10n.., see docs/plc-sources.md)",
                device.address()
            );
            Some(device)
        }
        false => None,
    };
    let mut sim = SimPlant::new(plant, simulator.seed, clock.now_ms(), simulator.speed);
    let mut every = tokio::time::interval(simulator.step);
    loop {
        tokio::select! {
            _ = every.tick() => {
                let updates = sim.advance(sim.sim_time(clock.now_ms()));
                if let Some(plc) = &opcua_server {
                    plc.write(&updates);
                }
                if let Some(device) = &modbus_server {
                    device.write(&updates);
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    if let Some(plc) = opcua_server {
        plc.stop().await;
    }
    if let Some(device) = modbus_server {
        device.stop().await;
    }
    Ok(())
}
