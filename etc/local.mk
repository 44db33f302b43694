# SPDX-License-Identifier: GPL-2.0-or-later
# etc/ and the launcher: what `make install` lays out besides the daemons,
# as jabberd2 does (compat spec sections 1 and 9):
#   $(bindir)                     router sm c2s s2s, and the jabberd launcher
#   $(sysconfdir)                 router.xml sm.xml c2s.xml s2s.xml
#                                 router-users.xml router-filter.xml
#                                 jabberd.cfg, each also as NAME.dist; the
#                                 NAME copy is made only if it is missing,
#                                 so an upgrade keeps the operator's files
#   $(localstatedir)/jabberd/pid  pid files
#   $(localstatedir)/jabberd/db   the SQLite database
#   $(localstatedir)/log/jabberd  log files (with <log type='file'>)
#   $(systemdsystemunitdir)       jabberd.service, jabberd-{router,sm,c2s,
#                                 s2s}.service (when built with libsystemd)
# Paths inside the files are substituted here, by make, so that
# `make install prefix=...` and distcheck's relocated installs see their
# own paths.

etc_edit = sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@pkglibdir[@]|$(pkglibdir)|g' \
	-e 's|@bindir[@]|$(bindir)|g'

ETC_CONFIGS = router.xml sm.xml c2s.xml s2s.xml router-users.xml \
	router-filter.xml jabberd.cfg
ETC_DIST = \
	etc/router.xml.dist \
	etc/sm.xml.dist \
	etc/c2s.xml.dist \
	etc/s2s.xml.dist \
	etc/router-users.xml.dist \
	etc/router-filter.xml.dist \
	etc/jabberd.cfg.dist
sysconf_DATA = $(ETC_DIST)
EXTRA_DIST += $(ETC_DIST:=.in) etc/README.md
CLEANFILES += $(ETC_DIST)

$(ETC_DIST): Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && rm -f $@ $@.tmp && \
	$(etc_edit) $(srcdir)/$@.in > $@.tmp && mv $@.tmp $@
etc/router.xml.dist: $(srcdir)/etc/router.xml.dist.in
etc/sm.xml.dist: $(srcdir)/etc/sm.xml.dist.in
etc/c2s.xml.dist: $(srcdir)/etc/c2s.xml.dist.in
etc/s2s.xml.dist: $(srcdir)/etc/s2s.xml.dist.in
etc/router-users.xml.dist: $(srcdir)/etc/router-users.xml.dist.in
etc/router-filter.xml.dist: $(srcdir)/etc/router-filter.xml.dist.in
etc/jabberd.cfg.dist: $(srcdir)/etc/jabberd.cfg.dist.in

# The launcher.
bin_SCRIPTS = tools/jabberd
EXTRA_DIST += tools/jabberd.in
CLEANFILES += tools/jabberd
tools/jabberd: $(srcdir)/tools/jabberd.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && rm -f $@ $@.tmp && \
	$(etc_edit) $(srcdir)/tools/jabberd.in > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

# The working copies (0640: they hold the router secret) and the state
# directories. The daemons run as a user of the operator's choice (the
# units say "jabber"), who must own the state directories: a packager's
# job, not make's.
install-data-hook:
	@for f in $(ETC_CONFIGS); do \
	  if test -f "$(DESTDIR)$(sysconfdir)/$$f"; then \
	    echo " keeping $(DESTDIR)$(sysconfdir)/$$f"; \
	  else \
	    echo " $(INSTALL) -m 640 etc/$$f.dist $(DESTDIR)$(sysconfdir)/$$f"; \
	    $(INSTALL) -m 640 "etc/$$f.dist" "$(DESTDIR)$(sysconfdir)/$$f" || exit 1; \
	  fi; \
	done
	$(MKDIR_P) "$(DESTDIR)$(localstatedir)/jabberd/pid" \
	  "$(DESTDIR)$(localstatedir)/jabberd/db" "$(DESTDIR)$(localstatedir)/log/jabberd"

# Uninstall takes away the working copies nobody edited (an edited one is
# the operator's and stays).
uninstall-hook:
	@for f in $(ETC_CONFIGS); do \
	  if cmp -s "etc/$$f.dist" "$(DESTDIR)$(sysconfdir)/$$f"; then \
	    echo " rm -f $(DESTDIR)$(sysconfdir)/$$f"; \
	    rm -f "$(DESTDIR)$(sysconfdir)/$$f"; \
	  fi; \
	done

# systemd units, from one template for the four daemons.
EXTRA_DIST += etc/systemd/jabberd.service.in etc/systemd/jabberd-daemon.service.in
JABBERD_UNITS = \
	etc/systemd/jabberd.service \
	etc/systemd/jabberd-router.service \
	etc/systemd/jabberd-sm.service \
	etc/systemd/jabberd-c2s.service \
	etc/systemd/jabberd-s2s.service
CLEANFILES += $(JABBERD_UNITS)
if HAVE_SYSTEMD
systemdsystemunit_DATA = $(JABBERD_UNITS)
endif

etc/systemd/jabberd.service: $(srcdir)/etc/systemd/jabberd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(etc_edit) $(srcdir)/etc/systemd/jabberd.service.in > $@
# router and sm depend on nothing but the node (as jabberd2's: sm does not
# wait for the router, it connects when the router is there); c2s and s2s
# need the router.
etc/systemd/jabberd-router.service etc/systemd/jabberd-sm.service: \
		$(srcdir)/etc/systemd/jabberd-daemon.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && d=`basename $@ .service | sed 's/^jabberd-//'` && \
	$(etc_edit) -e "s|@daemon[@]|$$d|g" -e 's|@after[@]||' -e 's|@requires[@]||' \
	  $(srcdir)/etc/systemd/jabberd-daemon.service.in > $@
etc/systemd/jabberd-c2s.service etc/systemd/jabberd-s2s.service: \
		$(srcdir)/etc/systemd/jabberd-daemon.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && d=`basename $@ .service | sed 's/^jabberd-//'` && \
	$(etc_edit) -e "s|@daemon[@]|$$d|g" -e 's|@after[@]| jabberd-router.service|' \
	  -e 's|@requires[@]|\nRequires=jabberd-router.service|' \
	  $(srcdir)/etc/systemd/jabberd-daemon.service.in > $@
