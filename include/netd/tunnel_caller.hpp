#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netd/net/ip.hpp"

// Who a tunnel request comes from, as the server's throttle of failed
// tokens and its log name the caller. Behind a reverse proxy every
// connection's peer is the proxy, so one guesser would lock every client
// out; a proxy the config trusts (trusted_proxies) says who it serves in
// X-Forwarded-For, to which nginx's $proxy_add_x_forwarded_for appends the
// address it saw. Pure.
namespace netd::tunnel {

// `peer`: the connection's remote address; `forwarded_for`: the header's
// value ("" when absent). When the peer is a trusted proxy, the header is
// read from the right, past entries that are trusted proxies themselves
// (a chain of them), and the first other address is the caller. Anything
// else (an untrusted peer, no header, an entry that is not an address, a
// header of trusted proxies only) leaves the peer as the caller: what a
// client wrote into the header itself is never believed, since its own
// entries sit left of the ones the trusted proxies added.
std::string caller_of(const std::string& peer, std::string_view forwarded_for, const std::vector<net::Cidr>& trusted);

} // namespace netd::tunnel
