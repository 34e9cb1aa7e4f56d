/**
 * A vehicle on disk, for an EV process on its own host: the OEM's record (`vehicle.json`: PCID,
 * provisioning chain, V2G roots) and, beside it, the provisioning private key the vehicle made
 * itself (`provisioning-key.pem`, PKCS#8, mode 0600). The key file is the vehicle's alone [S4]: no
 * bus message, record or file handed to another process holds it; only `readVehicleDir` reads it.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vehicleRecord } from '../../../protocols/catalogue/oem.ts';
import { PncError } from '../../../protocols/errors.ts';
import type { Vehicle } from '../../story/vehicle.ts';
import { exportPrivateKey, importPrivateKey } from '../authority.ts';

export const VEHICLE_RECORD_FILE = 'vehicle.json';
export const PROVISIONING_KEY_FILE = 'provisioning-key.pem';

const pem = (base64: string) => `-----BEGIN PRIVATE KEY-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;

/** Writes the vehicle into `dir` (created 0700): the record, and the key readable by its owner only. */
export async function writeVehicleDir(dir: string, vehicle: Vehicle): Promise<void> {
  const { provisioningKey, ...record } = vehicle;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, VEHICLE_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
  const keyFile = join(dir, PROVISIONING_KEY_FILE);
  writeFileSync(keyFile, pem(await exportPrivateKey(provisioningKey)), { mode: 0o600 });
  chmodSync(keyFile, 0o600);
}

/** Reads a vehicle written by {@link writeVehicleDir}. @throws PncError `VehicleFileInvalid` */
export async function readVehicleDir(dir: string): Promise<Vehicle> {
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch (error) {
      throw new PncError('VehicleFileInvalid', `cannot read ${join(dir, file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  let json: unknown;
  try {
    json = JSON.parse(read(VEHICLE_RECORD_FILE));
  } catch (error) {
    if (error instanceof PncError) throw error;
    throw new PncError('VehicleFileInvalid', `${join(dir, VEHICLE_RECORD_FILE)} is not JSON`);
  }
  const record = vehicleRecord.safeParse(json);
  if (!record.success) throw new PncError('VehicleFileInvalid', `${join(dir, VEHICLE_RECORD_FILE)} is not a vehicle record`);
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(read(PROVISIONING_KEY_FILE));
  if (!match) throw new PncError('VehicleFileInvalid', `${join(dir, PROVISIONING_KEY_FILE)} holds no PKCS#8 private key`);
  try {
    return { ...record.data, provisioningKey: await importPrivateKey(match[1].replace(/\s/g, '')) };
  } catch {
    throw new PncError('VehicleFileInvalid', `${join(dir, PROVISIONING_KEY_FILE)} holds no usable P-256 key`);
  }
}
