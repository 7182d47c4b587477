-- The admin pages read a group's size on every call (GET /api/groups, a
-- group's page, a reservation's target count).  It was a COUNT(*) of the
-- group's member rows, and for USER_ALL of every subscriber (0.57 s at 1 M
-- under load).  Now it is a counter kept by the library in the same
-- transaction as the change (bl_group_add/remove, bl_user_create, the seed);
-- bl_group_recount rebuilds it from the rows after rows were written
-- outside the library.
ALTER TABLE user_groups
  ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0
    COMMENT 'members (kind ALL: every subscriber), kept by the library';

UPDATE user_groups g
  SET g.member_count = IF(g.kind = 'ALL', (SELECT COUNT(*) FROM users),
                          (SELECT COUNT(*) FROM user_group_members m WHERE m.group_id = g.id));
