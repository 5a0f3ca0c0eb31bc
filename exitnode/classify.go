package exitnode

import (
	"net/netip"
)

// blockedRange is one range of addresses the exit node does not dial unless
// private destinations are allowed, with the reason a user reads.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blockedRanges follows Smokescreen's model: anything that is not plainly a
// public unicast address is refused. IPv6 forms that carry an IPv4 address
// inside them are refused whole, because the embedded address could be any
// of the IPv4 ranges above and a gateway on the way would reach it.
var blockedRanges = func() []blockedRange {
	table := []struct{ cidr, reason string }{
		{"0.0.0.0/8", "an unspecified (this-network) address"},
		{"10.0.0.0/8", "a private address"},
		{"100.64.0.0/10", "a carrier-grade NAT address"},
		{"127.0.0.0/8", "a loopback address"},
		{"169.254.0.0/16", "a link-local address"},
		{"172.16.0.0/12", "a private address"},
		{"192.0.0.0/24", "an IETF protocol address"},
		{"192.168.0.0/16", "a private address"},
		{"198.18.0.0/15", "a benchmarking address"},
		{"224.0.0.0/4", "a multicast address"},
		{"240.0.0.0/4", "a reserved address"},
		{"::/128", "an unspecified address"},
		{"::1/128", "a loopback address"},
		{"::ffff:0:0/96", "an IPv4-mapped IPv6 address"},
		{"::/96", "an IPv4-compatible IPv6 address"},
		{"64:ff9b::/96", "a NAT64 address"},
		{"64:ff9b:1::/48", "a local-use NAT64 address"},
		{"100::/64", "a discard-only address"},
		{"2001::/32", "a Teredo address"},
		{"2002::/16", "a 6to4 address"},
		{"fc00::/7", "a unique local address"},
		{"fe80::/10", "a link-local address"},
		{"fec0::/10", "a site-local address"},
		{"ff00::/8", "a multicast address"},
	}
	out := make([]blockedRange, len(table))
	for i, r := range table {
		out[i] = blockedRange{netip.MustParsePrefix(r.cidr), r.reason}
	}
	return out
}()

// metadataAddr is the cloud metadata service, named so a refusal says so.
var metadataAddr = netip.MustParseAddr("169.254.169.254")

// addressPolicy decides which addresses the exit node may dial.
type addressPolicy struct {
	allowPrivate bool

	// self is the address the exit node listens on, if any. Dialing it
	// would loop a request back into the exit node, so it is refused even
	// when private addresses are allowed. An unspecified self address
	// (0.0.0.0, ::) matches every local address with self's port.
	self    netip.AddrPort
	isLocal func(netip.Addr) bool
}

// check returns "" when addr may be dialed, or why it may not.
func (p addressPolicy) check(addr netip.AddrPort) string {
	ip := addr.Addr().WithZone("")
	if p.isSelf(addr) {
		return "the exit node itself"
	}
	if p.allowPrivate {
		return ""
	}
	return classify(ip)
}

func (p addressPolicy) isSelf(addr netip.AddrPort) bool {
	if !p.self.IsValid() || addr.Port() != p.self.Port() {
		return false
	}
	ip := addr.Addr().Unmap().WithZone("")
	self := p.self.Addr().Unmap()
	if ip == self {
		return true
	}
	if !self.IsUnspecified() {
		return false
	}
	return ip.IsLoopback() || ip.IsUnspecified() || p.isLocal != nil && p.isLocal(ip)
}

// classify returns "" for a public unicast address and otherwise a phrase
// naming what the address is, such as "a private address".
func classify(ip netip.Addr) string {
	if !ip.IsValid() {
		return "an invalid address"
	}
	ip = ip.WithZone("")
	if ip == metadataAddr {
		return "the cloud metadata address"
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	return ""
}
