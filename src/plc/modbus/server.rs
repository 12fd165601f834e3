//! The Modbus TCP server of `ms5 simulate` (tokio-modbus): the simulated plant as a
//! Modbus device, with a fixed register map, so `config/modbus.toml` can poll it.
//!
//! **Register map.** Machine `n` is the n-th machine of the plant model (from 0, in file
//! order, line after line). Its block starts at `10 × n`:
//!
//! | offset | holding and input registers |      | coils and discrete inputs |
//! |---|---|---|---|
//! | +0 | state code (u16) | +0 | running bit |
//! | +1 | fault code (u16) | +1 | fault bit |
//! | +2 | product code (u16) | | |
//! | +3, +4 | good counter (u32, first register most significant) | | |
//! | +5, +6 | reject counter (u32) | | |
//! | +7, +8 | total counter (u32) | | |
//!
//! Input registers hold the same values as holding registers, discrete inputs the same as
//! coils. Every unit id gets the same answers; addresses past the last machine answer
//! with exception 2 (illegal data address), writes with exception 1 (illegal function).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use super::codec::encode_unsigned;
use crate::config::ModbusServerSettings;
use crate::domain::plant::{CounterRole, PlantModel, SignalKind};
use crate::domain::tag::{Quality, TagUpdate};
use crate::plc::opcua_server::PlcServerError;

/// Registers (and bits) per machine.
pub const BLOCK: u16 = 10;

/// Where `ms5 simulate` keeps a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `words` registers from `address` (holding and input).
    Registers {
        /// First register.
        address: u16,
        /// 1 or 2.
        words: u16,
    },
    /// A coil (and discrete input).
    Bit(u16),
}

impl Slot {
    /// The address as `[[modbus.endpoints]]` writes it (`hr:13:u32`, `co:40`).
    pub fn address_text(self) -> String {
        match self {
            Slot::Registers { address, words: 2 } => format!("hr:{address}:u32"),
            Slot::Registers { address, .. } => format!("hr:{address}"),
            Slot::Bit(address) => format!("co:{address}"),
        }
    }
}

/// The fixed register map: every tag of `plant` and its slot (see the module
/// documentation). Machines past the 6,553rd have no slot.
pub fn register_map(plant: &PlantModel) -> Vec<(String, Slot)> {
    let mut map = Vec::new();
    for (n, machine) in plant.machines.iter().enumerate() {
        let Some(base) = u16::try_from(n).ok().and_then(|n| n.checked_mul(BLOCK)) else {
            break;
        };
        for signal in &machine.signals {
            let (offset, slot_of): (u16, fn(u16) -> Slot) = match &signal.kind {
                SignalKind::StateCode(_) => (0, one),
                SignalKind::FaultCode => (1, one),
                SignalKind::ProductCode => (2, one),
                SignalKind::Counter(c) => match c.role {
                    CounterRole::Good => (3, two),
                    CounterRole::Reject => (5, two),
                    CounterRole::Total => (7, two),
                },
                SignalKind::RunningBit => (0, Slot::Bit),
                SignalKind::FaultBit => (1, Slot::Bit),
            };
            map.push((signal.tag.clone(), slot_of(base + offset)));
        }
    }
    map
}

fn one(address: u16) -> Slot {
    Slot::Registers { address, words: 1 }
}
fn two(address: u16) -> Slot {
    Slot::Registers { address, words: 2 }
}

/// The served values.
#[derive(Debug, Default)]
struct Memory {
    registers: Vec<u16>,
    bits: Vec<bool>,
}

impl Memory {
    fn answer(&self, request: &Request<'_>) -> Result<Response, ExceptionCode> {
        fn slice<T: Copy>(all: &[T], start: u16, count: u16) -> Result<Vec<T>, ExceptionCode> {
            let (start, end) = (usize::from(start), usize::from(start) + usize::from(count));
            all.get(start..end)
                .map(<[T]>::to_vec)
                .ok_or(ExceptionCode::IllegalDataAddress)
        }
        match *request {
            Request::ReadHoldingRegisters(a, n) => slice(&self.registers, a, n).map(Response::ReadHoldingRegisters),
            Request::ReadInputRegisters(a, n) => slice(&self.registers, a, n).map(Response::ReadInputRegisters),
            Request::ReadCoils(a, n) => slice(&self.bits, a, n).map(Response::ReadCoils),
            Request::ReadDiscreteInputs(a, n) => slice(&self.bits, a, n).map(Response::ReadDiscreteInputs),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

#[derive(Clone)]
struct Device {
    memory: Arc<RwLock<Memory>>,
}

impl tokio_modbus::server::Service for Device {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = std::future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let answer = match self.memory.read() {
            Ok(memory) => memory.answer(&req.request),
            Err(_) => Err(ExceptionCode::ServerDeviceFailure),
        };
        std::future::ready(answer)
    }
}

/// A running Modbus server exposing the plant's tags.
pub struct ModbusServer {
    memory: Arc<RwLock<Memory>>,
    slots: HashMap<String, Slot>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ModbusServer {
    /// Starts serving every tag of `plant` at 0.
    pub async fn start(plant: &PlantModel, settings: &ModbusServerSettings) -> Result<ModbusServer, PlcServerError> {
        let addr = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&addr).await.map_err(|source| PlcServerError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let addr = listener
            .local_addr()
            .map_err(|source| PlcServerError::Bind { addr, source })?;
        let slots: HashMap<String, Slot> = register_map(plant).into_iter().collect();
        let size = usize::from(BLOCK) * plant.machines.len().min(6553);
        let memory = Arc::new(RwLock::new(Memory {
            registers: vec![0; size],
            bits: vec![false; size],
        }));
        let device = Device { memory: memory.clone() };
        let task = tokio::spawn(async move {
            let server = Server::new(listener);
            let on_connected = |stream, peer| {
                let device = device.clone();
                async move { accept_tcp_connection(stream, peer, move |_| Ok(Some(device.clone()))) }
            };
            let on_process_error = |e: std::io::Error| tracing::debug!(error = %e, "Modbus client connection ended");
            if let Err(e) = server.serve(&on_connected, on_process_error).await {
                tracing::error!(error = %e, "the simulated Modbus device stopped accepting connections");
            }
        });
        Ok(ModbusServer {
            memory,
            slots,
            addr,
            task,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `host:port`, as `[[modbus.endpoints]] address` takes it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Writes tag values into their slots. A Modbus register has no quality: bad and
    /// uncertain values are not written (the register keeps its last good value).
    pub fn write(&self, updates: &[TagUpdate]) {
        let Ok(mut memory) = self.memory.write() else {
            return;
        };
        for u in updates.iter().filter(|u| u.quality == Quality::Good) {
            match self.slots.get(&u.tag) {
                Some(&Slot::Registers { address, words }) => {
                    let value = u.value.as_i64().unwrap_or(0).max(0) as u64;
                    let start = usize::from(address);
                    let value = if words == 1 {
                        value.min(u64::from(u16::MAX))
                    } else {
                        value
                    };
                    for (i, w) in encode_unsigned(value, usize::from(words)).into_iter().enumerate() {
                        if let Some(r) = memory.registers.get_mut(start + i) {
                            *r = w;
                        }
                    }
                }
                Some(&Slot::Bit(address)) => {
                    if let Some(b) = memory.bits.get_mut(usize::from(address)) {
                        *b = u.value.as_bool().unwrap_or(false);
                    }
                }
                None => {}
            }
        }
    }

    /// Writes raw registers from `address` (tests: word orders, wraps).
    pub fn set_registers(&self, address: u16, words: &[u16]) {
        if let Ok(mut memory) = self.memory.write() {
            for (i, w) in words.iter().enumerate() {
                if let Some(r) = memory.registers.get_mut(usize::from(address) + i) {
                    *r = *w;
                }
            }
        }
    }

    /// Stops accepting connections and drops the connected clients.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_register_map_gives_each_machine_a_block_of_ten() {
        let plant = crate::config::parse_plant(include_str!("../../../config/plant.toml"), "plant.toml")
            .unwrap_or_else(|e| panic!("{e}"));
        let map: HashMap<String, Slot> = register_map(&plant).into_iter().collect();
        // l1-depal is machine 0, l1-filler 1, l2-saw 4 (line 2's first)
        let table = [
            ("L1.Depal.State", "hr:0"),
            ("L1.Depal.FaultCode", "hr:1"),
            ("L1.Depal.Good", "hr:3:u32"),
            ("L1.Depal.Reject", "hr:5:u32"),
            ("L1.Filler.Product", "hr:12"),
            ("L1.Packer.Total", "hr:37:u32"),
            ("L2.Saw.Running", "co:40"),
            ("L2.Saw.Fault", "co:41"),
            ("L2.Saw.FaultCode", "hr:41"),
            ("L2.Inspect.Reject", "hr:75:u32"),
        ];
        for (tag, want) in table {
            assert_eq!(map.get(tag).map(|s| s.address_text()), Some(want.to_owned()), "{tag}");
        }
        assert_eq!(map.len(), plant.tags.len(), "every tag has a slot");
    }

    #[test]
    fn the_shipped_modbus_config_reads_every_tag_where_simulate_serves_it() {
        let config = crate::config::Config::load(Some(std::path::Path::new("config/modbus.toml")))
            .unwrap_or_else(|e| panic!("{e}"));
        let endpoint = &config.settings.modbus.endpoints[0];
        let read: HashMap<String, String> = endpoint
            .points()
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|p| {
                let ty = p.encoding.data_type;
                let text = match ty {
                    crate::plc::modbus::address::DataType::U32 => format!("{}:u32", p.address),
                    _ => p.address.to_string(),
                };
                (p.tag, text)
            })
            .collect();
        let served: HashMap<String, String> = register_map(&config.plant)
            .into_iter()
            .map(|(tag, slot)| (tag, slot.address_text()))
            .collect();
        assert_eq!(read, served);
        assert!(config.settings.modbus.server.enabled && !config.settings.opcua.server.enabled);
    }

    #[test]
    fn reads_past_the_plant_are_illegal_addresses() {
        let memory = Memory {
            registers: vec![1, 2, 3],
            bits: vec![true],
        };
        assert_eq!(
            memory.answer(&Request::ReadHoldingRegisters(1, 2)),
            Ok(Response::ReadHoldingRegisters(vec![2, 3]))
        );
        assert_eq!(
            memory.answer(&Request::ReadInputRegisters(2, 2)),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            memory.answer(&Request::ReadDiscreteInputs(0, 1)),
            Ok(Response::ReadDiscreteInputs(vec![true]))
        );
        assert_eq!(
            memory.answer(&Request::WriteSingleRegister(0, 1)),
            Err(ExceptionCode::IllegalFunction)
        );
    }
}
