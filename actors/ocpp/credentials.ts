/**
 * Security profile 2 (OCPP 2.0.1 Part 2 A00.FR.2xx): each station's Basic-auth password, kept in the
 * Store only as an scrypt hash. Passwords are made here from 24 random bytes (32 characters, inside
 * OCPP's 16–40): machine-made secrets, so a lighter scrypt cost than for human passwords keeps a
 * thousand stations' reconnects cheap.
 */
import { randomBytes } from 'node:crypto';
import type { Store, StoredDoc } from '../store/store.ts';
import { hashSecret, secretMatches } from '../opcp/auth.ts';

const STATION_SCRYPT = { N: 1024, r: 8, p: 1, keylen: 32 } as const;

interface StationCredentialDoc extends StoredDoc {
  readonly passwordHash: string;
  readonly createdAt: string;
}

export class StationCredentials {
  private readonly collection;

  constructor(store: Store) {
    this.collection = store.collection<StationCredentialDoc>('ocpp.station_credentials');
  }

  /** Registers (or re-keys) a station; the password is returned once and never stored. */
  async add(stationId: string): Promise<{ stationId: string; password: string }> {
    const password = randomBytes(24).toString('base64url');
    await this.collection.replace({ _id: stationId, passwordHash: await hashSecret(password, STATION_SCRYPT), createdAt: new Date().toISOString() });
    return { stationId, password };
  }

  async verify(stationId: string, password: Buffer | undefined): Promise<boolean> {
    if (!password) return false;
    const doc = await this.collection.get(stationId);
    if (!doc) return false;
    return secretMatches(password.toString('utf8'), doc.passwordHash).catch(() => false);
  }
}
