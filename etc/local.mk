# SPDX-License-Identifier: GPL-2.0-or-later
# etc/ and the launcher: what `make install` lays out besides the daemons,
# as jabberd2 does (compat spec sections 1 and 9):
#   $(bindir)                     router sm c2s s2s, and the jabberd launcher
#   $(sysconfdir)                 router.xml sm.xml c2s.xml s2s.xml muc.xml
#                                 pubsub.xml
#                                 router-users.xml router-filter.xml
#                                 jabberd.cfg, each also as NAME.dist; the
#                                 NAME copy is made only if it is missing,
#                                 so an upgrade keeps the operator's files
#   $(localstatedir)/jabberd/pid  pid files
#   $(localstatedir)/jabberd/db   the SQLite database
#   $(localstatedir)/log/jabberd  log files (with <log type='file'>)
#   $(systemdsystemunitdir)       jabberd.service, jabberd-{router,sm,c2s,
#                                 s2s,muc,pubsub}.service (when built with
#                                 libsystemd; jabberd.service does not pull
#                                 muc or pubsub in)
# The paths inside these files are filled in as they are installed, so
# `make install prefix=/elsewhere` (and distcheck's relocated installs)
# get their own paths without a rebuild. docs/install.md tells more.

etc_edit = sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@pkglibdir[@]|$(pkglibdir)|g' \
	-e 's|@bindir[@]|$(bindir)|g'

ETC_CONFIGS = router.xml sm.xml c2s.xml s2s.xml muc.xml pubsub.xml router-users.xml \
	router-filter.xml jabberd.cfg
EXTRA_DIST += \
	etc/README.md \
	etc/router.xml.dist.in \
	etc/sm.xml.dist.in \
	etc/c2s.xml.dist.in \
	etc/s2s.xml.dist.in \
	etc/muc.xml.dist.in \
	etc/pubsub.xml.dist.in \
	etc/router-users.xml.dist.in \
	etc/router-filter.xml.dist.in \
	etc/jabberd.cfg.dist.in \
	etc/systemd/jabberd.service.in \
	etc/systemd/jabberd-daemon.service.in \
	tools/jabberd.in

# The units go in only with sd_notify support: Type=notify needs it.
if HAVE_SYSTEMD
JABBERD_UNIT_DAEMONS = router sm c2s s2s muc pubsub
JABBERD_UNIT_MAIN = jabberd
endif

install-exec-local:
	$(MKDIR_P) "$(DESTDIR)$(bindir)"
	$(etc_edit) $(srcdir)/tools/jabberd.in > "$(DESTDIR)$(bindir)/jabberd.tmp"
	chmod 755 "$(DESTDIR)$(bindir)/jabberd.tmp"
	mv "$(DESTDIR)$(bindir)/jabberd.tmp" "$(DESTDIR)$(bindir)/jabberd"

# NAME.dist is always the shipped file; NAME (0640: it holds the router
# secret) only if missing. The state directories are made here; the user
# the daemons run as (the units say "jabber") must own them: a
# packager's job, not make's.
install-data-local:
	$(MKDIR_P) "$(DESTDIR)$(sysconfdir)" "$(DESTDIR)$(localstatedir)/jabberd/pid" \
	  "$(DESTDIR)$(localstatedir)/jabberd/db" "$(DESTDIR)$(localstatedir)/log/jabberd"
	@for f in $(ETC_CONFIGS); do \
	  d="$(DESTDIR)$(sysconfdir)/$$f"; \
	  echo " $$d.dist"; \
	  $(etc_edit) "$(srcdir)/etc/$$f.dist.in" > "$$d.dist" || exit 1; \
	  chmod 644 "$$d.dist"; \
	  if test -f "$$d"; then \
	    echo " keeping $$d"; \
	  else \
	    $(INSTALL) -m 640 "$$d.dist" "$$d" || exit 1; \
	  fi; \
	done
	@if test -n "$(JABBERD_UNIT_MAIN)"; then \
	  u="$(DESTDIR)$(systemdsystemunitdir)"; \
	  $(MKDIR_P) "$$u" && \
	  echo " $$u/jabberd.service" && \
	  $(etc_edit) $(srcdir)/etc/systemd/jabberd.service.in > "$$u/jabberd.service" || exit 1; \
	fi
	@for d in $(JABBERD_UNIT_DAEMONS); do \
	  u="$(DESTDIR)$(systemdsystemunitdir)/jabberd-$$d.service"; \
	  case $$d in \
	  c2s|s2s|muc|pubsub) after=' jabberd-router.service'; req='\nRequires=jabberd-router.service' ;; \
	  *) after= req= ;; \
	  esac; \
	  echo " $$u"; \
	  $(etc_edit) -e "s|@daemon[@]|$$d|g" -e "s|@after[@]|$$after|" \
	    -e "s|@requires[@]|$$req|" \
	    $(srcdir)/etc/systemd/jabberd-daemon.service.in > "$$u" || exit 1; \
	done

# Uninstall takes away the working copies nobody edited (an edited one is
# the operator's and stays).
uninstall-local:
	rm -f "$(DESTDIR)$(bindir)/jabberd"
	@for f in $(ETC_CONFIGS); do \
	  d="$(DESTDIR)$(sysconfdir)/$$f"; \
	  if cmp -s "$$d.dist" "$$d"; then echo " rm -f $$d"; rm -f "$$d"; fi; \
	  rm -f "$$d.dist"; \
	done
	@for d in $(JABBERD_UNIT_MAIN) $(JABBERD_UNIT_DAEMONS); do \
	  case $$d in jabberd) u=jabberd ;; *) u=jabberd-$$d ;; esac; \
	  rm -f "$(DESTDIR)$(systemdsystemunitdir)/$$u.service"; \
	done
