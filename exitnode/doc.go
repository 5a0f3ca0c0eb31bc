// Package exitnode is an egress HTTP forward proxy whose transformer script
// may rewrite requests, for example to inject credentials a program never sees.
package exitnode
