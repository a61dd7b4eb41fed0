// Client addresses against allowFrom (addresses and CIDR networks), as sshd's Match Address
// compares them, through node:net's BlockList.
import { BlockList, isIP } from 'node:net';
import { isAddressOrNetwork } from './answers.ts';

/**
 * True when `addr` is one of allowFrom's addresses or inside one of its networks. Like sshd
 * (addr_netmatch), an IPv4 address never matches an IPv6 entry nor the other way round
 * (BlockList alone would match 127.0.0.1 against ::/0). An entry that is not an address or
 * network matches nothing; so does an `addr` that is not an address.
 */
export function addressAllowed(addr: string, allowFrom: readonly string[]): boolean {
  const family = isIP(addr);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  for (const entry of allowFrom) {
    if (!isAddressOrNetwork(entry)) continue;
    const [net = '', prefix] = entry.split('/');
    if (isIP(net) !== family) continue;
    try {
      if (prefix === undefined) list.addAddress(net, type);
      else list.addSubnet(net, Number(prefix), type);
    } catch {
      // An address BlockList cannot take (an IPv6 zone, say) matches nothing, as before.
    }
  }
  return list.check(addr, type);
}
