"""A Modbus TCP device for tests/modbus.rs: pymodbus's server on 127.0.0.1:PORT, unit 1.

    python server.py PORT [COMMAND …]

Holding and input registers 0..999, coils and discrete inputs 0..1007, all 0 at start;
any other address answers with exception 2 (illegal data address). The test sets values
and faults through stdin, one command a line, each acknowledged with `ok` on stdout:

    hr ADDR V [V …]     holding registers from ADDR (unsigned 16-bit words)
    ir ADDR V [V …]     input registers
    co ADDR 0|1 […]     coils
    di ADDR 0|1 […]     discrete inputs
    delay SECONDS       hold back the reply to the next read for this long

Commands given as arguments (one per argument) apply before the server listens, so a
restarted device serves its values from its first reply. `ready PORT` is printed once the
server listens.
"""

import asyncio
import os
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

SIZE = 1000
# function code → the table it reads or writes
TABLE = {1: "co", 5: "co", 15: "co", 2: "di", 3: "hr", 6: "hr", 16: "hr", 4: "ir"}
READS = {1, 2, 3, 4}

values = {"co": {}, "di": {}, "hr": {}, "ir": {}}
delays = []


async def action(function_code, start_address, address, count, registers, set_values):
    """Applies what the test set before every access; delays a read when asked."""
    table = TABLE.get(function_code)
    if table in ("co", "di"):
        # bits are kept 16 to a register, bit 0 first
        for addr, value in values[table].items():
            index, mask = addr // 16 - start_address, 1 << (addr % 16)
            if 0 <= index < len(registers):
                registers[index] = registers[index] | mask if value else registers[index] & ~mask
    elif table is not None:
        for addr, value in values[table].items():
            if 0 <= addr - start_address < len(registers):
                registers[addr - start_address] = value
    if function_code in READS and delays:
        await asyncio.sleep(delays.pop(0))
    return None


def command(line):
    parts = line.split()
    if not parts:
        return
    if parts[0] == "delay":
        delays.append(float(parts[1]))
        return
    table, addr = parts[0], int(parts[1])
    for i, word in enumerate(parts[2:]):
        value = int(word)
        values[table][addr + i] = bool(value) if table in ("co", "di") else value


async def control():
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            # the test went away: so does the device
            os._exit(0)
        command(line)
        print("ok", flush=True)


async def main(port):
    bits = [SimData(0, count=SIZE // 16 + 1, values=0, datatype=DataType.BITS)]
    words = [SimData(0, count=SIZE, values=0, datatype=DataType.REGISTERS)]
    device = SimDevice(id=0, simdata=(bits, list(bits), words, list(words)), action=action)
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    asyncio.create_task(control())
    serving = asyncio.create_task(server.serve_forever())
    await asyncio.sleep(0.2)
    print(f"ready {port}", flush=True)
    await serving


if __name__ == "__main__":
    for arg in sys.argv[2:]:
        command(arg)
    asyncio.run(main(int(sys.argv[1])))
