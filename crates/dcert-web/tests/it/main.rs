mod browser;
mod email;
mod support;
mod web;
mod worker;
