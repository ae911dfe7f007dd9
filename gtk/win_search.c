/* The search over the stored history in mim-gtk's sidebar ("Search history"): the words parsed
 * at the edge (mim_search_query_parse) as they are typed, the core's matches (mim_core_search)
 * listed in place of the contacts ("Search results": who, when, the snippet with its matched words
 * in bold); a result opens its conversation; an empty search brings the contacts back. */
#include "app.h"
#include "mim_search_query.h"
#include "tui_date.h"

#include <stdio.h>
#include <string.h>

#define SEARCH_LIMIT 50

typedef struct search_run {
    mim_gtk *g;
    GtkWidget *list;
    size_t n;
} search_run;

/* The snippet as Pango markup, its matched words bold (the rest escaped). */
static char *snippet_markup(const mim_core_search_item *it)
{
    GString *s = g_string_new(NULL);
    size_t at = 0, len = strlen(it->snippet);

    for (size_t k = 0; k <= it->nmarks; k++) {
        size_t start = k < it->nmarks ? it->marks[k].start : len;
        size_t end = k < it->nmarks ? it->marks[k].end : len;
        char *plain, *marked;
        if (start < at || end < start || end > len)
            break; /* the core gives them in order; anything else is shown unmarked */
        plain = g_markup_escape_text(it->snippet + at, (gssize)(start - at));
        marked = g_markup_escape_text(it->snippet + start, (gssize)(end - start));
        g_string_append_printf(s, "%s%s%s%s", plain, end > start ? "<b>" : "", marked,
                               end > start ? "</b>" : "");
        g_free(plain);
        g_free(marked);
        at = end;
    }
    return g_string_free(s, FALSE);
}

static void on_result(void *arg, const mim_core_search_item *it)
{
    search_run *run = arg;
    GtkWidget *row = gtk_list_box_row_new(), *label = gtk_label_new(NULL);
    char when[TUI_DATE_MAX], head[400], name[600];
    char *snippet = snippet_markup(it), *markup, *who;

    tui_date_time_column(it->ts_ms, (int64_t)g_get_real_time() / 1000, when);
    snprintf(head, sizeof(head), "%s \u00b7 %s", it->peer, when);
    who = g_markup_escape_text(head, -1);
    markup = g_strdup_printf("<small>%s</small>\n%s: %s", who, it->from, snippet);
    gtk_label_set_markup(GTK_LABEL(label), markup);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_widget_set_margin_start(label, 8);
    gtk_widget_set_margin_top(label, 4);
    gtk_widget_set_margin_bottom(label, 4);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), label);
    snprintf(name, sizeof(name), "%s: %s: %s", it->peer, it->from, it->snippet);
    a11y_label(row, name);
    g_object_set_data_full(G_OBJECT(row), "name", g_strdup(it->peer), g_free);
    gtk_list_box_append(GTK_LIST_BOX(run->list), row);
    run->n++;
    g_free(markup);
    g_free(who);
    g_free(snippet);
}

static void clear(GtkWidget *list)
{
    GtkWidget *child;

    while ((child = gtk_widget_get_first_child(list)) != NULL)
        gtk_list_box_remove(GTK_LIST_BOX(list), child);
}

static void on_search(GtkSearchEntry *e, gpointer ud)
{
    mim_gtk *g = ud;
    const char *text = gtk_editable_get_text(GTK_EDITABLE(e));
    search_run run = {g, g->results, 0};
    mim_search_query q;
    int rc;

    clear(g->results);
    if (text[0] == '\0' || g->core == NULL) {
        gtk_stack_set_visible_child_name(GTK_STACK(g->side_stack), "contacts");
        return;
    }
    if ((rc = mim_search_query_parse(text, strlen(text), &q)) != 0) {
        bridge_error(g, mim_search_query_strerror(rc));
        return;
    }
    if ((rc = mim_core_search(g->core, &q, NULL, SEARCH_LIMIT, on_result, &run)) != 0)
        bridge_refusal(g, rc, "");
    if (run.n == 0)
        gtk_list_box_append(GTK_LIST_BOX(g->results), gtk_label_new("Nothing found"));
    gtk_stack_set_visible_child_name(GTK_STACK(g->side_stack), "results");
}

static void on_result_activated(GtkListBox *list, GtkListBoxRow *row, gpointer ud)
{
    const char *name = g_object_get_data(G_OBJECT(row), "name");

    (void)list;
    if (name != NULL)
        bridge_open_conversation(ud, name);
}

GtkWidget *search_build(mim_gtk *g)
{
    GtkWidget *entry = gtk_search_entry_new(), *scroll = gtk_scrolled_window_new();

    a11y_label(entry, "Search history");
    gtk_widget_set_margin_start(entry, 6);
    gtk_widget_set_margin_end(entry, 6);
    gtk_widget_set_margin_top(entry, 6);
    g_signal_connect(entry, "search-changed", G_CALLBACK(on_search), g);
    g_signal_connect(entry, "stop-search", G_CALLBACK(on_search), g);
    g->results = gtk_list_box_new();
    gtk_widget_add_css_class(g->results, "navigation-sidebar");
    a11y_label(g->results, "Search results");
    g_signal_connect(g->results, "row-activated", G_CALLBACK(on_result_activated), g);
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), g->results);
    gtk_stack_add_named(GTK_STACK(g->side_stack), scroll, "results");
    return entry;
}
