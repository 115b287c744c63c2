// Shared by every component's index.js (put in front of it by components.load): small DOM helpers.

// a new element with a class name, appended to parent when given
function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

