package exitnode

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		addr    string
		refused bool
	}{
		{"8.8.8.8", false},
		{"203.0.113.10", false},
		{"2606:4700:4700::1111", false},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"100.128.0.1", false},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"169.254.169.254", true},
		{"169.254.1.1", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.1", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"255.255.255.255", true},
		{"::", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:8.8.8.8", true},
		{"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true},
		{"2002:7f00:1::", true},
		{"2002:a00:1::1", true},
		{"64:ff9b::a00:1", true},
		{"64:ff9b::808:808", true},
		{"64:ff9b:1::1", true},
		{"2001::1", true},
		{"2001:0:4136:e378::1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf::1", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		{"2001:4860:4860::8888", false},
	}
	for _, c := range cases {
		ip := netip.MustParseAddr(c.addr)
		why := classify(ip)
		if (why != "") != c.refused {
			t.Errorf("classify(%s) = %q, want refused=%v", c.addr, why, c.refused)
		}
	}
}

func TestPolicySelfAndAllowPrivate(t *testing.T) {
	self := netip.MustParseAddrPort("127.0.0.1:8788")
	open := addressPolicy{allowPrivate: true, self: self}
	strict := addressPolicy{self: self}
	cases := []struct {
		p       addressPolicy
		addr    string
		refused bool
	}{
		{open, "127.0.0.1:8788", true}, // itself, even with private allowed
		{open, "[::ffff:127.0.0.1]:8788", true},
		{open, "127.0.0.1:8789", false},
		{open, "10.0.0.1:80", false},
		{open, "169.254.169.254:80", false},
		{strict, "10.0.0.1:80", true},
		{strict, "169.254.169.254:80", true},
		{strict, "8.8.8.8:8788", false},
		{
			addressPolicy{allowPrivate: true, self: netip.MustParseAddrPort("0.0.0.0:9000"),
				isLocal: func(a netip.Addr) bool { return a == netip.MustParseAddr("192.0.2.7") }},
			"192.0.2.7:9000", true,
		},
		{
			addressPolicy{allowPrivate: true, self: netip.MustParseAddrPort("0.0.0.0:9000"),
				isLocal: func(netip.Addr) bool { return false }},
			"127.0.0.1:9000", true,
		},
	}
	for _, c := range cases {
		why := c.p.check(netip.MustParseAddrPort(c.addr))
		if (why != "") != c.refused {
			t.Errorf("check(%s) with allowPrivate=%v = %q, want refused=%v",
				c.addr, c.p.allowPrivate, why, c.refused)
		}
	}
}
