// Access: who is calling (from the session) and what each document role may do
// (protocol/PROTOCOL.md, "Accounts and access"). Socket-free; part of jointly_server_core.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jointly::server {

// A member's role in one document, weakest first (a higher role can do all a lower one can).
enum class Role { viewer, reviewer, editor, leader };

std::string_view role_name(Role r);
std::optional<Role> parse_role(std::string_view name);

enum class Action {
  read,            // open, snapshot, history, members list, checks, export
  edit,            // text edits; add, move, remove, restore sections; restore from history
  approve,         // approve a locked section for the caller's own institution
  lock,            // lock and unlock
  manage_members,  // set role, remove member, invite
};

bool allowed(Role role, Action action);

// The authenticated caller of a request or a WebSocket connection, from their session.
struct Caller {
  std::uint64_t user_id = 0;
  std::string email;
  std::string name;  // display name
  std::uint64_t institution_id = 0;
  std::string institution;  // institution name
  std::string country;      // ISO 3166-1 alpha-2
  bool admin = false;
};

}  // namespace jointly::server
