/**
 * The firmware's ports: what the layers beside it (the BLE radio, the edges) plug into or
 * report through. They are interfaces only, so ble/ and the host API meet here without
 * importing each other.
 */

/** A phone the reader's BLE radio knows: linked now, or gone a short while ago. */
export interface PhoneInRange {
  /** The phone's BLE address as the link reports it. */
  address: string;
  /** Once the phone presented a credential or enrolled on this link. */
  deviceId?: string;
  /** The phone protocol it spoke on this link, once it presented or enrolled. */
  profile?: 'reader-sim' | 'pkoc';
  /** Link RSSI, dBm, from the controller (HCI Read RSSI); absent until first read. */
  rssi?: number;
  /** The link's session state, or `gone` after the link dropped. */
  state: 'connected' | 'challenged' | 'processing' | 'answered' | 'gone';
  /** Reader clock (epoch ms) of the last RSSI reading or of the disconnect. */
  lastSeen?: number;
}

/** The reader's BLE radio as the edges see it (it outlives power cycles of the firmware). */
export interface BleRadioStatus {
  phones(): PhoneInRange[];
  /** Called with the whole list at every change; returns an unsubscribe. */
  watchPhones(listener: (phones: PhoneInRange[]) => void): () => void;
}

/** The OSDP link to an access panel (osdp-pd role), as the edges show it. */
export interface PanelLinkStatus {
  role: 'osdp-pd';
  /** How the panel reaches the reader: `serial:/dev/ttyUSB0@9600`, `tcp:4000`. */
  transport: string;
  address: number;
  /** A panel command came within the last 8 s. */
  online: boolean;
  /** The Secure Channel is up. */
  secure: boolean;
  /** No base key set yet: the panel may open the channel with the default key. */
  installMode: boolean;
  /** Reader clock (epoch ms) of the last command from the panel. */
  lastPoll?: number;
  counters: {
    commands: number;
    replies: number;
    naks: number;
    badCheck: number;
    malformed: number;
    garbageBytes: number;
    macFailures: number;
    internalErrors: number;
  };
}
