// Roles and what they may do: see server/access.hpp and protocol/PROTOCOL.md.
#include "server/access.hpp"

namespace jointly::server {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::viewer:
      return "viewer";
    case Role::reviewer:
      return "reviewer";
    case Role::editor:
      return "editor";
    case Role::leader:
      return "leader";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::viewer, Role::reviewer, Role::editor, Role::leader}) {
    if (role_name(r) == name) return r;
  }
  return std::nullopt;
}

bool allowed(Role role, Action action) {
  switch (action) {
    case Action::read:
      return true;
    case Action::approve:
      return role >= Role::reviewer;
    case Action::edit:
      return role >= Role::editor;
    case Action::lock:
    case Action::manage_members:
      return role == Role::leader;
  }
  return false;
}

}  // namespace jointly::server
