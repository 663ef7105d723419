/* Unit tests for common/list.h: the intrusive list and CONTAINER_OF.
 * What matters: order is kept (push_back appends, removal closes the gap
 * from both directions), a removed link is on no list and removing it again
 * is harmless (tcp.c tests link_empty on an element's own link), and
 * CONTAINER_OF gets back the object from a link at any offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/list.h"

typedef struct item {
	int id;
	link_t a; /* two links: one object on two lists at once */
	char pad[3];
	link_t b;
} item_t;

/* The ids on list head, front to back, checked against the walk back. */
static size_t ids(const link_t *head, int *out, size_t max)
{
	size_t n = 0;
	for (const link_t *l = head->next; l != head; l = l->next) {
		assert_true(n < max);
		assert_ptr_equal(l->next->prev, l);
		out[n++] = CONTAINER_OF(l, item_t, a)->id;
	}
	size_t back = 0;
	for (const link_t *l = head->prev; l != head; l = l->prev)
		back++;
	assert_int_equal(back, n);
	return n;
}

static void empty_after_init(void **state)
{
	link_t head;
	link_init(&head);
	assert_true(link_empty(&head));
	assert_ptr_equal(head.next, &head);
	assert_ptr_equal(head.prev, &head);
}

static void push_back_keeps_order(void **state)
{
	item_t it[3] = {{.id = 1}, {.id = 2}, {.id = 3}};
	link_t head;
	link_init(&head);
	for (int i = 0; i < 3; i++)
		link_push_back(&head, &it[i].a);
	assert_false(link_empty(&head));
	int got[4];
	assert_int_equal(ids(&head, got, 4), 3);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 2);
	assert_int_equal(got[2], 3);
	assert_ptr_equal(head.prev, &it[2].a);
}

static void remove_first_middle_last(void **state)
{
	item_t it[4] = {{.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}};
	link_t head;
	link_init(&head);
	for (int i = 0; i < 4; i++)
		link_push_back(&head, &it[i].a);
	int got[4];
	link_remove(&it[1].a); /* middle */
	assert_int_equal(ids(&head, got, 4), 3);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 3);
	link_remove(&it[0].a); /* first */
	link_remove(&it[3].a); /* last */
	assert_int_equal(ids(&head, got, 4), 1);
	assert_int_equal(got[0], 3);
	link_remove(&it[2].a);
	assert_true(link_empty(&head));
}

/* A removed link points at itself: "on no list", and removing it again
 * changes no list. */
static void removed_link_is_on_no_list(void **state)
{
	item_t it[2] = {{.id = 1}, {.id = 2}};
	link_t head;
	link_init(&head);
	link_init(&it[0].a);
	assert_true(link_empty(&it[0].a));
	link_push_back(&head, &it[0].a);
	link_push_back(&head, &it[1].a);
	assert_false(link_empty(&it[0].a));
	link_remove(&it[0].a);
	assert_true(link_empty(&it[0].a));
	link_remove(&it[0].a);
	int got[2];
	assert_int_equal(ids(&head, got, 2), 1);
	assert_int_equal(got[0], 2);
}

/* Move to the back (what tcp.c's touch() does for its LRU), and one item
 * on two lists through two links. */
static void move_to_back_and_two_lists(void **state)
{
	item_t it[3] = {{.id = 1}, {.id = 2}, {.id = 3}};
	link_t la, lb;
	link_init(&la);
	link_init(&lb);
	for (int i = 0; i < 3; i++) {
		link_push_back(&la, &it[i].a);
		link_init(&it[i].b);
	}
	link_remove(&it[0].a);
	link_push_back(&la, &it[0].a);
	int got[3];
	assert_int_equal(ids(&la, got, 3), 3);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[2], 1);
	link_push_back(&lb, &it[1].b);
	assert_ptr_equal(CONTAINER_OF(lb.next, item_t, b), &it[1]);
	assert_ptr_equal(CONTAINER_OF(la.next, item_t, a), &it[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_after_init),
	    cmocka_unit_test(push_back_keeps_order),
	    cmocka_unit_test(remove_first_middle_last),
	    cmocka_unit_test(removed_link_is_on_no_list),
	    cmocka_unit_test(move_to_back_and_two_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
