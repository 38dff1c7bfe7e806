#!/usr/bin/env bash
# Extra services for the examples' tests (called by .ci/run with its state dir):
#   - Debian's chromium for the headless browser test of examples/seckill;
#   - MariaDB answering on 127.0.0.1:3306 (root, no password over TCP) for the
#     real-Redis tiers, which pass SURGE_MYSQL_DSN=root@tcp(127.0.0.1:3306)/.
# Installs with apt-get only what is missing; a MariaDB it starts is recorded in
# $state/extra-pids so .ci/run stops it on exit. A server that runs already is reused.
set -euo pipefail
state=${1:?state directory}
export DEBIAN_FRONTEND=noninteractive
updated=
apt_install() {
  [ -n "$updated" ] || { apt-get update -qq; updated=1; }
  apt-get install -y -qq "$@"
}

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium"
  apt_install chromium
fi

mysql_up() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }

if ! mysql_up; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "installing mariadb-server"
    apt_install mariadb-server
  fi
  install -d -o mysql -g mysql /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  echo "starting mariadbd"
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$state/mariadbd.pid" \
    --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 --port=3306
  for _ in $(seq 1 120); do
    mysql_up && break
    sleep 0.5
  done
  mysql_up || { echo "mariadb did not come up on 127.0.0.1:3306" >&2; exit 1; }
  cat "$state/mariadbd.pid" >>"$state/extra-pids"
fi

# The tests connect as root over TCP without a password; Debian's default root is
# unix_socket only. Allow both (idempotent), through the socket, if TCP is refused.
for _ in $(seq 1 60); do
  mariadb -uroot -h127.0.0.1 -e 'SELECT 1' >/dev/null 2>&1 && break
  if mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
      CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
      GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
  fi
  sleep 0.5
done
mariadb -uroot -h127.0.0.1 -e 'SELECT VERSION()' >/dev/null || { echo "mariadb: root@127.0.0.1 refused" >&2; exit 1; }
echo "mariadb ready on 127.0.0.1:3306; chromium $(/usr/bin/chromium --version 2>/dev/null | head -1)"
