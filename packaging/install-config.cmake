# install-config.cmake - install-time part of the install rules
# (CMakeLists.txt, "install and package"): the settings file and the systemd
# unit, whose paths follow the prefix of *this* install (`cmake --install
# --prefix`, `make install PREFIX=...`, CPack's /usr), not the configure-time
# one.  /usr puts the settings file in /etc, any other prefix in PREFIX/etc.
# DESTDIR is honoured by file(INSTALL).  Expects SOULSPOT_BUILD_DIR and
# SOULSPOT_SOURCE_DIR (set by the install(CODE) before it).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(soulspot_etc "/etc/soulspotd")
else()
  set(soulspot_etc "${CMAKE_INSTALL_PREFIX}/etc/soulspotd")
endif()
set(SOULSPOT_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(SOULSPOT_CONFIG "${soulspot_etc}/soulspotd.ini")
set(soulspot_unit_dir "${SOULSPOT_BUILD_DIR}/install-unit")
file(MAKE_DIRECTORY "${soulspot_unit_dir}")
configure_file("${SOULSPOT_SOURCE_DIR}/packaging/soulspotd.service.in"
  "${soulspot_unit_dir}/soulspotd.service" @ONLY)
file(INSTALL DESTINATION "${soulspot_etc}" TYPE FILE
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  FILES "${SOULSPOT_BUILD_DIR}/soulspotd.ini")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system"
  TYPE FILE FILES "${soulspot_unit_dir}/soulspotd.service")
