-- SPDX-License-Identifier: GPL-2.0-or-later
-- Test-only prosody module: answers prosody's DNS lookups from the
-- jc_static_s2s option instead of the network, so an interop test can
-- point prosody at a server on a loopback address and port, and prosody
-- never sends a DNS query anywhere.
--
--   jc_static_s2s = { ["a.test"] = { "127.0.0.2", 20001 } }
--
-- _xmpp-server._tcp.<domain> gets one SRV record naming
-- jc-static.<domain> at that port, whose A record is the address.
-- Everything else (other names, AAAA, TLSA, xmpps-server) has no records.
local adns = require "net.adns";
local timer = require "util.timer";

local map = module:get_option("jc_static_s2s", {});

local resolver = {};

function resolver:lookup(handler, qname, qtype)
	local name = (qname or ""):gsub("%.$", "");
	local answer = {};
	if qtype == "SRV" then
		local domain = name:match("^_xmpp%-server%._tcp%.(.+)$");
		local entry = domain and map[domain];
		if entry then
			answer[1] = { srv = { priority = 0, weight = 0, port = entry[2],
				target = "jc-static." .. domain } };
		end
	elseif qtype == "A" then
		local domain = name:match("^jc%-static%.(.+)$");
		local entry = domain and map[domain];
		if entry then
			answer[1] = { a = entry[1] };
		end
	end
	module:log("debug", "static %s %s: %d record(s)", qtype, name, #answer);
	timer.add_task(0, function () handler(answer); end);
	return true;
end

function resolver:lookup_promise()
	error("jc_static_s2s: lookup_promise not supported");
end

adns.resolver = function () return resolver; end;
adns.lookup = function (...) return resolver:lookup(...); end;
