// Where users connect: an address and sshd's port.

export interface Endpoint {
  host: string;
  port: number;
}

export function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1' || ip === 'localhost';
}
