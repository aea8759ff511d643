mod email;
mod support;
mod web;
