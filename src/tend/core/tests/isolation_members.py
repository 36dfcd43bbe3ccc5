"""Isolation entries for members, invitations, roles and the permission registry."""

from tend.core.tests.isolation import register

# Lists and creations act on the caller's own organization.
register("GET", "/api/v1/members", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/invitations", targets_victim=False, query=lambda v: {"status": "all"})
register("GET", "/api/v1/roles", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/permissions", targets_victim=False)
register("POST", "/api/v1/roles", targets_victim=False,
         body=lambda v: {"key": "suite-role", "name": "Suite role",
                         "permissions": ["tags.view"]})

member = {"path": lambda v: {"membership_id": v.membership.pk}}
register("GET", "/api/v1/members/{membership_id}", **member)
register("PATCH", "/api/v1/members/{membership_id}", **member,
         body=lambda v: {"role_id": str(v.custom_role.pk)})
register("POST", "/api/v1/members/{membership_id}/disable", **member)
register("POST", "/api/v1/members/{membership_id}/enable", **member)
register("DELETE", "/api/v1/members/{membership_id}", **member)

# The body names the victim's role: another organization's caller gets a field error (422)
# saying it is not one of theirs, and nothing is created.
register("POST", "/api/v1/invitations", targets_victim=True, also_ok=(422,),
         body=lambda v: {"email": "newcomer@example.com", "role_id": str(v.role.pk)})
invitation = {"path": lambda v: {"invitation_id": v.invitation.pk}}
register("GET", "/api/v1/invitations/{invitation_id}", **invitation)
register("POST", "/api/v1/invitations/{invitation_id}/revoke", **invitation)

role = {"path": lambda v: {"role_id": v.custom_role.pk}}
register("GET", "/api/v1/roles/{role_id}", **role)
register("PATCH", "/api/v1/roles/{role_id}", **role, body=lambda v: {"name": "Renamed"})
register("DELETE", "/api/v1/roles/{role_id}", **role)
