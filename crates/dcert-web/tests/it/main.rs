mod browser;
mod email;
mod records;
mod support;
mod verify_site;
mod web;
mod worker;
